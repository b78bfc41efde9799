package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// acmeCacheTimeout bounds one operation on the ACME cache.
const acmeCacheTimeout = 30 * time.Second

// errNoSession is an ACME cache operation while the agent is not
// connected: an error, not a miss, so that the router orders nothing the
// cache may already hold.
var errNoSession = errdefs.New(errdefs.ErrUnavailable, "the ACME cache is on the server, and the agent is not connected to it now; the router tries again on a later handshake")

// ACMECache is the router's autocert.Cache: the organization's ACME cache
// on the server, shared by all its router nodes, reached over the agent's
// session to the gateway (POST /agent/v1/acme). The gateway serves it
// only to nodes labelled api.RouterLabel.
type ACMECache struct {
	a *Agent
}

var _ autocert.Cache = (*ACMECache)(nil)

// ACMECache is the organization's ACME cache for this node's router.
func (a *Agent) ACMECache() *ACMECache { return &ACMECache{a: a} }

// Get reads key; a key the server does not hold is autocert.ErrCacheMiss.
func (c *ACMECache) Get(ctx context.Context, key string) ([]byte, error) {
	var e api.ACMECacheEntry
	err := c.do(ctx, api.ACMECacheRequest{Op: api.ACMECacheGet, Key: key}, &e)
	if errdefs.IsNotFound(err) {
		return nil, autocert.ErrCacheMiss
	}
	if err != nil {
		return nil, err
	}
	return e.Data, nil
}

// Put stores data under key, replacing what was there.
func (c *ACMECache) Put(ctx context.Context, key string, data []byte) error {
	return c.do(ctx, api.ACMECacheRequest{Op: api.ACMECachePut, Key: key, Data: data}, nil)
}

// Delete removes key; a missing key is no error.
func (c *ACMECache) Delete(ctx context.Context, key string) error {
	return c.do(ctx, api.ACMECacheRequest{Op: api.ACMECacheDelete, Key: key}, nil)
}

func (c *ACMECache) do(ctx context.Context, req api.ACMECacheRequest, out any) error {
	s := c.a.currentSession()
	if s == nil {
		return errNoSession
	}
	err := s.call(ctx, "/agent/v1/acme", req, out, acmeCacheTimeout)
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("ACME cache %s %s: %w", req.Op, req.Key, err)
	}
	return err
}
