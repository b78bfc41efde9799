package apiserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/etcdtest"
)

// TestLeaderLossIs503 runs the API on a three-member etcd and stops two
// members: the one left has no leader, and the API answers 503
// "unavailable" with Retry-After, not 500 "internal", for reads and writes.
func TestLeaderLossIs503(t *testing.T) {
	c := etcdtest.Start(t, 3)
	st := store.New(c.Client(0), "/wharf")
	st.SetOpTimeout(2 * time.Second)
	admin, _, err := domain.Bootstrap(t.Context(), st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c.Stop(1)
	c.Stop(2)

	for _, call := range []struct{ method, path, body string }{
		{"GET", "/v1/services", ""},
		{"POST", "/v1/services", `{"name":"web","spec":{"command":["sleep","1"]}}`},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // bounds the test, not the server
		req, _ := http.NewRequestWithContext(ctx, call.method, srv.URL+call.path, strings.NewReader(call.body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := srv.Client().Do(req)
		if err != nil {
			cancel()
			t.Fatalf("%s %s without a leader: %v", call.method, call.path, err)
		}
		var eb api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		_ = resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusServiceUnavailable || eb.Error.Code != api.CodeUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s without a leader: %d %+v, Retry-After %q; want 503 unavailable with Retry-After",
				call.method, call.path, resp.StatusCode, eb.Error, resp.Header.Get("Retry-After"))
		}
	}
}
