package imageresolve

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNonRegistryAnswerIsNotQuoted: a host that is no registry (any
// service the server reaches) gets no part of its answer quoted back to
// the user who named it.
func TestNonRegistryAnswerIsNotQuoted(t *testing.T) {
	const secret = "internal-METADATA-token-9c2"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(secret))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	var r Resolver
	_, err := r.Resolve(context.Background(), host+"/x/y:1", nil)
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), host) {
		t.Fatalf("Resolve against a non-registry: %v", err)
	}
	// A port nobody listens on: unreachable, quickly.
	_, err = r.Resolve(context.Background(), "127.0.0.1:1/x/y:1", nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Resolve against a closed port: %v", err)
	}
}
