package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// newSealedEnv is newEnv with a gateway that seals and opens with a
// fresh keyring.
func newSealedEnv(t *testing.T) *env {
	var sealer *seal.Sealer
	return newEnv(t, func(c *gateway.Config) {
		if sealer == nil {
			kek, err := seal.NewKEK()
			if err != nil {
				t.Fatal(err)
			}
			if _, sealer, err = seal.CreateKeyring(context.Background(), c.Store, kek, false); err != nil {
				t.Fatal(err)
			}
		}
		c.Sealer = sealer
	})
}

// acmeAs is a session of node id (created with org and labels) to send
// ACME cache requests over.
func acmeAs(t *testing.T, e *env, id, org string, labels map[string]string) *fakeAgent {
	t.Helper()
	cert, serial := nodeCert(t, e.ca, id)
	n := &api.Node{Meta: api.Meta{ID: id, Org: org}, State: api.NodeDeployed, Hostname: id, Labels: labels, CertSerial: serial}
	if err := e.st.Create(e.ctx, store.KindNodes, n); err != nil {
		t.Fatal(err)
	}
	return dialFakeAgent(t, e, cert, http.NotFoundHandler())
}

// acme sends one request: the status, the error code and the value read.
func (a *fakeAgent) acme(t *testing.T, req api.ACMECacheRequest) (int, string, []byte) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.client.Post("http://gateway/agent/v1/acme", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var eb api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		return resp.StatusCode, eb.Error.Code, nil
	}
	var entry api.ACMECacheEntry
	if err := json.NewDecoder(resp.Body).Decode(&entry); err != nil {
		t.Fatalf("get answered 200 with %v", err)
	}
	return resp.StatusCode, "", entry.Data
}

func acmeGet(key string) api.ACMECacheRequest {
	return api.ACMECacheRequest{Op: api.ACMECacheGet, Key: key}
}
func acmePut(key, v string) api.ACMECacheRequest {
	return api.ACMECacheRequest{Op: api.ACMECachePut, Key: key, Data: []byte(v)}
}
func acmeDel(key string) api.ACMECacheRequest {
	return api.ACMECacheRequest{Op: api.ACMECacheDelete, Key: key}
}

// The ACME cache: router nodes only, each its organization's entries,
// values sealed in the store, keys and sizes checked.
func TestACMECache(t *testing.T) {
	e := newSealedEnv(t)
	router := map[string]string{api.RouterLabel: "true"}
	r1 := acmeAs(t, e, "r1", "", router)
	r1b := acmeAs(t, e, "r1b", "", map[string]string{api.RouterLabel: "edge"})
	r2 := acmeAs(t, e, "r2", "other", router)
	plain := acmeAs(t, e, "plain", "", map[string]string{"zone": "a"})
	off := acmeAs(t, e, "off", "", map[string]string{api.RouterLabel: "false"})

	const key, value = "3f2a9c1b7e4d_web.example.com", "-----BEGIN EC PRIVATE KEY-----\nCANARY-acme-7f3e\n"
	if code, ecode, _ := r1.acme(t, acmePut(key, value)); code != http.StatusNoContent {
		t.Fatalf("router node's put: %d %s", code, ecode)
	}

	// Nodes that are not router nodes are refused, and write nothing.
	for name, a := range map[string]*fakeAgent{"no label": plain, `label "false"`: off} {
		for _, req := range []api.ACMECacheRequest{acmeGet(key), acmePut(key, "theirs"), acmeDel(key)} {
			if code, ecode, _ := a.acme(t, req); code != http.StatusForbidden || ecode != api.CodeForbidden {
				t.Errorf("%s: %s: %d %q, want 403 forbidden", name, req.Op, code, ecode)
			}
		}
	}

	// Every router node of the organization reads it back.
	for name, a := range map[string]*fakeAgent{"r1": r1, "r1b": r1b} {
		if code, _, got := a.acme(t, acmeGet(key)); code != http.StatusOK || string(got) != value {
			t.Errorf("%s get: %d %q, want %q", name, code, got, value)
		}
	}
	// Stored sealed: the record holds no plaintext, and opens for its own
	// organization and key only.
	var rec records.ACMEEntry
	if err := e.st.Get(e.ctx, store.KindACME, records.ACMEEntryID("default", key), &rec); err != nil {
		t.Fatal(err)
	}
	if !seal.IsSealed(rec.Sealed) || strings.Contains(rec.Sealed, "CANARY") || rec.Org != "default" || rec.Name != key {
		t.Errorf("stored entry %+v: want a sealed value of org default, named by its key", rec)
	}

	// Another organization's router node does not see it, and its own
	// entry of the same key is its own.
	if code, ecode, _ := r2.acme(t, acmeGet(key)); code != http.StatusNotFound || ecode != api.CodeNotFound {
		t.Errorf("other org's get: %d %q, want 404 not_found", code, ecode)
	}
	if code, _, _ := r2.acme(t, acmePut(key, "other's")); code != http.StatusNoContent {
		t.Fatalf("other org's put: %d", code)
	}
	if _, _, got := r1.acme(t, acmeGet(key)); string(got) != value {
		t.Errorf("after the other org's put, r1 reads %q, want its own %q", got, value)
	}
	if code, _, _ := r2.acme(t, acmeDel(key)); code != http.StatusNoContent {
		t.Fatalf("other org's delete: %d", code)
	}
	if _, _, got := r1.acme(t, acmeGet(key)); string(got) != value {
		t.Errorf("after the other org's delete, r1 reads %q, want its own %q", got, value)
	}

	// Replace, delete, delete again, get a missing key.
	if code, _, _ := r1b.acme(t, acmePut(key, "renewed")); code != http.StatusNoContent {
		t.Fatalf("replace: %d", code)
	}
	if _, _, got := r1.acme(t, acmeGet(key)); string(got) != "renewed" {
		t.Errorf("after a replace: %q", got)
	}
	for range 2 {
		if code, _, _ := r1.acme(t, acmeDel(key)); code != http.StatusNoContent {
			t.Errorf("delete: %d, want 204 (a missing key is no error)", code)
		}
	}
	if code, ecode, _ := r1.acme(t, acmeGet(key)); code != http.StatusNotFound || ecode != api.CodeNotFound {
		t.Errorf("get after delete: %d %q, want 404 not_found", code, ecode)
	}

	// Bad requests are refused before anything is read or written.
	for name, req := range map[string]api.ACMECacheRequest{
		"no op":          {Key: "k"},
		"unknown op":     {Op: "list", Key: "k"},
		"empty key":      acmeGet(""),
		"parent":         acmeGet("../../secrets/x"),
		"dotdot":         acmeGet("a..b"),
		"leading dot":    acmeGet(".hidden"),
		"slash":          acmeGet("a/b"),
		"colon":          acmeGet("a:b"),
		"control":        acmeGet("a\x00b"),
		"too long key":   acmeGet(strings.Repeat("k", api.MaxACMECacheKey+1)),
		"empty value":    acmePut("k", ""),
		"value too big":  acmePut("k", strings.Repeat("v", api.MaxACMECacheData+1)),
		"data on a get":  {Op: api.ACMECacheGet, Key: "k", Data: []byte("x")},
		"data on delete": {Op: api.ACMECacheDelete, Key: "k", Data: []byte("x")},
	} {
		if code, ecode, _ := r1.acme(t, req); code != http.StatusBadRequest || ecode != api.CodeInvalid {
			t.Errorf("%s: %d %q, want 400 invalid", name, code, ecode)
		}
	}
	if code, _, _ := r1.acme(t, acmePut("big", strings.Repeat("v", api.MaxACMECacheData))); code != http.StatusNoContent {
		t.Errorf("a value of the largest size: %d, want 204", code)
	}
	res, err := e.st.ListPrefix(e.ctx, store.KindACME, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if it.ID != "default.big" {
			t.Errorf("stored entry %q: a refused request wrote", it.ID)
		}
	}
}

// A gateway without a data key keeps no ACME data: it cannot seal it.
func TestACMECacheNeedsASealer(t *testing.T) {
	e := newEnv(t)
	r := acmeAs(t, e, "r1", "", map[string]string{api.RouterLabel: "true"})
	if code, ecode, _ := r.acme(t, acmePut("k", "v")); code != http.StatusServiceUnavailable || ecode != api.CodeUnavailable {
		t.Errorf("put: %d %q, want 503 unavailable", code, ecode)
	}
}

// An organization's cache holds at most so many entries; a full one
// still takes replacements, and another organization's is its own.
func TestACMECacheIsBounded(t *testing.T) {
	defer gateway.SetMaxACMEEntries(2)()
	e := newSealedEnv(t)
	router := map[string]string{api.RouterLabel: "true"}
	r1 := acmeAs(t, e, "r1", "", router)
	r2 := acmeAs(t, e, "r2", "other", router)
	for _, k := range []string{"a", "b"} {
		if code, _, _ := r1.acme(t, acmePut(k, "v")); code != http.StatusNoContent {
			t.Fatalf("put %s: %d", k, code)
		}
	}
	if code, ecode, _ := r1.acme(t, acmePut("c", "v")); code != http.StatusConflict || ecode != api.CodeConflict {
		t.Errorf("a put past the bound: %d %q, want 409 conflict", code, ecode)
	}
	if code, _, _ := r1.acme(t, acmePut("a", "v2")); code != http.StatusNoContent {
		t.Errorf("a replacement in a full cache: %d, want 204", code)
	}
	if code, _, _ := r2.acme(t, acmePut("c", "v")); code != http.StatusNoContent {
		t.Errorf("another organization's put: %d, want 204", code)
	}
	if code, _, _ := r1.acme(t, acmeDel("b")); code != http.StatusNoContent {
		t.Fatal("delete")
	}
	if code, _, _ := r1.acme(t, acmePut("c", "v")); code != http.StatusNoContent {
		t.Errorf("a put after a delete made room: %d, want 204", code)
	}
}

// The agent's ACMECache, the router's autocert.Cache, over a real
// session: a round trip on a router node, autocert's miss for a missing
// key, and a refusal on a node without the label.
func TestAgentACMECache(t *testing.T) {
	e := newSealedEnv(t)
	start := func(host string, labels map[string]string) *agent.ACMECache {
		p := e.startAgent(t.TempDir(), host, e.token, newMemDriver(), func(c *agent.Config) { c.Labels = labels })
		e.waitNodeState(waitAgentID(t, p), api.NodeDeployed, 10*time.Second)
		return p.a.ACMECache()
	}
	router := start("router", map[string]string{api.RouterLabel: "true"})
	worker := start("worker", nil)

	ctx := context.Background()
	// The session may open a moment after the node is Deployed.
	eventually(t, 10*time.Second, "the router's session", func() error {
		_, err := router.Get(ctx, "acme_account+key")
		if errors.Is(err, autocert.ErrCacheMiss) {
			return nil
		}
		return fmt.Errorf("get a missing key: %v, want autocert.ErrCacheMiss", err)
	})
	if err := router.Put(ctx, "acme_account+key", []byte("key")); err != nil {
		t.Fatal(err)
	}
	if got, err := router.Get(ctx, "acme_account+key"); err != nil || string(got) != "key" {
		t.Errorf("get: %q %v", got, err)
	}
	if err := router.Delete(ctx, "acme_account+key"); err != nil {
		t.Fatal(err)
	}
	if _, err := router.Get(ctx, "acme_account+key"); !errors.Is(err, autocert.ErrCacheMiss) {
		t.Errorf("get after delete: %v, want autocert.ErrCacheMiss", err)
	}
	eventually(t, 10*time.Second, "the worker's refusal", func() error {
		if err := worker.Put(ctx, "k", []byte("v")); !errors.Is(err, errdefs.ErrForbidden) {
			return fmt.Errorf("a node without the router label: %v, want forbidden", err)
		}
		return nil
	})
}
