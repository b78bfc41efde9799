package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/routing"
	"github.com/wharfhq/wharf/internal/store"
)

// maxACMEEntries bounds an organization's ACME cache: a few entries a
// host (its certificates, a challenge's token while it is pending) and
// the account key, so a router node cannot fill the store. A variable
// for tests.
var maxACMEEntries = 1024

// maxACMEBody bounds a request to the ACME cache: the largest value in
// base64 and the rest of the JSON.
const maxACMEBody = api.MaxACMECacheData*4/3 + api.MaxACMECacheKey + 1024

// handleACME serves the organization's ACME cache to its router nodes:
// get, put or delete one entry (api.ACMECacheRequest). The node must carry
// the RouterLabel (a 403 otherwise) and reaches only its own
// organization's entries; values are sealed in the store like secrets.
func (s *session) handleACME(w http.ResponseWriter, r *http.Request) {
	var req api.ACMECacheRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxACMEBody))
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			errhttp.Write(w, errdefs.Invalid("data", "the request is over %d bytes; an ACME cache value is at most %d bytes", maxACMEBody, api.MaxACMECacheData))
			return
		}
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "bad request body: "+err.Error()))
		return
	}
	if err := validateACMERequest(req); err != nil {
		errhttp.Write(w, err)
		return
	}
	org, err := s.routerOrg(r.Context())
	if err != nil {
		if !errdefs.IsUnavailable(err) {
			s.log.Warn("ACME cache refused", "op", req.Op, "err", err)
		}
		errhttp.Write(w, err)
		return
	}
	switch req.Op {
	case api.ACMECacheGet:
		data, err := s.g.acmeGet(r.Context(), org, req.Key)
		if err != nil {
			errhttp.Write(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(api.ACMECacheEntry{Data: data})
		return
	case api.ACMECachePut:
		err = s.g.acmePut(r.Context(), org, req.Key, req.Data)
	default: // validated: delete
		err = s.g.acmeDelete(r.Context(), org, req.Key)
	}
	if err != nil {
		s.log.Warn("ACME cache write failed", "op", req.Op, "key", req.Key, "err", err)
		errhttp.Write(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// validateACMERequest checks the operation, the key and the value's size.
func validateACMERequest(req api.ACMECacheRequest) error {
	switch req.Op {
	case api.ACMECacheGet, api.ACMECacheDelete:
		if req.Data != nil {
			return errdefs.Invalid("data", "only a put carries data")
		}
	case api.ACMECachePut:
		if len(req.Data) == 0 {
			return errdefs.Invalid("data", "a put needs a value")
		}
		if len(req.Data) > api.MaxACMECacheData {
			return errdefs.Invalid("data", "%d bytes; an ACME cache value is at most %d", len(req.Data), api.MaxACMECacheData)
		}
	default:
		return errdefs.Invalid("op", "%q: want get, put or delete", req.Op)
	}
	return validateACMEKey(req.Key)
}

// validateACMEKey allows letters, digits and . _ + -, not a leading "."
// nor "..": what autocert names its entries, and nothing that reads as a
// path.
func validateACMEKey(key string) error {
	if key == "" || len(key) > api.MaxACMECacheKey {
		return errdefs.Invalid("key", "want 1 to %d characters, got %d", api.MaxACMECacheKey, len(key))
	}
	for _, c := range []byte(key) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-'
		if !ok {
			return errdefs.Invalid("key", "%q: only letters, digits and . _ + - are allowed", key)
		}
	}
	if key[0] == '.' || strings.Contains(key, "..") {
		return errdefs.Invalid("key", "%q: may not start with . nor hold ..", key)
	}
	return nil
}

// routerOrg is the organization of the session's node when the node is a
// router node; a node without the RouterLabel is refused (403).
func (s *session) routerOrg(ctx context.Context) (string, error) {
	var n api.Node
	if err := s.g.store.Get(ctx, store.KindNodes, s.node, &n); err != nil {
		return "", err
	}
	if !routing.IsRouter(&n) {
		return "", errdefs.New(errdefs.ErrForbidden, fmt.Sprintf(
			"node %s is not a router node: only nodes labelled %s (not \"false\") use the organization's ACME cache", s.node, api.RouterLabel))
	}
	return cmp.Or(n.Org, defaultOrg), nil
}

// errNoSealer refuses the ACME cache on a gateway that cannot seal.
var errNoSealer = errdefs.New(errdefs.ErrUnavailable, "this server has no data key to seal ACME certificates and keys with; its routers get no ACME certificates")

// acmeGet opens org's entry key (404 when there is none).
func (g *Gateway) acmeGet(ctx context.Context, org, key string) ([]byte, error) {
	if g.cfg.Sealer == nil {
		return nil, errNoSealer
	}
	var e records.ACMEEntry
	if err := g.store.Get(ctx, store.KindACME, records.ACMEEntryID(org, key), &e); err != nil {
		return nil, err
	}
	return g.cfg.Sealer.Open(records.ACMEPurpose(org, key), e.Sealed)
}

// acmePut seals data into org's entry key, creating or replacing it.
func (g *Gateway) acmePut(ctx context.Context, org, key string, data []byte) error {
	if g.cfg.Sealer == nil {
		return errNoSealer
	}
	sealed, err := g.cfg.Sealer.Seal(records.ACMEPurpose(org, key), data)
	if err != nil {
		return err
	}
	id := records.ACMEEntryID(org, key)
	for range 8 { // a conflict is another router node writing the same key
		var e records.ACMEEntry
		err := g.store.Get(ctx, store.KindACME, id, &e)
		switch {
		case errors.Is(err, store.ErrNotFound):
			n, cerr := g.store.CountPrefix(ctx, store.KindACME, records.ACMEPrefix(org))
			if cerr != nil {
				return cerr
			}
			if n >= int64(maxACMEEntries) {
				return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("the organization's ACME cache is full (%d entries); it holds a few a host", maxACMEEntries))
			}
			e = records.ACMEEntry{Meta: api.Meta{ID: id, Name: key, Org: org}, Sealed: sealed, Size: len(data)}
			err = g.store.Create(ctx, store.KindACME, &e)
		case err == nil:
			e.Sealed, e.Size = sealed, len(data)
			err = g.store.Update(ctx, store.KindACME, &e)
		default:
			return err
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return errdefs.New(errdefs.ErrConflict, "the ACME cache entry kept changing under this write; try again")
}

// acmeDelete removes org's entry key; a missing one is no error.
func (g *Gateway) acmeDelete(ctx context.Context, org, key string) error {
	err := g.store.Delete(ctx, store.KindACME, records.ACMEEntryID(org, key), 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
