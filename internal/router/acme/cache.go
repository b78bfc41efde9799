package acme

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/acme/autocert"
)

// errRetired is what a replaced or closed client's cache and transport
// answer: its renewal timers (which autocert gives no way to stop) find
// nothing to do.
var errRetired = errors.New("acme: this ACME client is closed, or was replaced by a newer configuration")

// genCache is the shared cache as one client sees it: every key under the
// client's directory prefix, nothing once the client is retired, and a
// log line for each certificate stored.
type genCache struct {
	base    autocert.Cache
	prefix  string
	retired *atomic.Bool
	log     *slog.Logger
}

func (c *genCache) Get(ctx context.Context, key string) ([]byte, error) {
	if c.retired.Load() {
		return nil, errRetired
	}
	return c.base.Get(ctx, c.prefix+key)
}

func (c *genCache) Put(ctx context.Context, key string, data []byte) error {
	if c.retired.Load() {
		return errRetired
	}
	err := c.base.Put(ctx, c.prefix+key, data)
	switch {
	case err != nil:
		c.log.Warn("cannot store ACME data in the shared cache; other router nodes will not see it", "key", key, "err", err)
	case isCertKey(key):
		c.log.Info("ACME certificate stored", "host", strings.TrimSuffix(key, "+rsa"))
	}
	return err
}

func (c *genCache) Delete(ctx context.Context, key string) error {
	if c.retired.Load() {
		return errRetired
	}
	return c.base.Delete(ctx, c.prefix+key)
}

// isCertKey reports whether an autocert cache key names a host's
// certificate (not the account key, nor a challenge's token).
func isCertKey(key string) bool {
	return !strings.HasPrefix(key, "acme_account") && !strings.HasSuffix(key, "+token") && !strings.HasSuffix(key, "+http-01")
}

// retirableTransport is the ACME client's transport until its client is
// retired.
type retirableTransport struct {
	next    http.RoundTripper
	retired *atomic.Bool
}

func (t *retirableTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.retired.Load() {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, errRetired
	}
	return t.next.RoundTrip(r)
}
