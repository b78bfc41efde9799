// Package buildtest gives tests a fake of Wharf's built-in registry: a real
// distribution registry (github.com/distribution/distribution/v3, in
// memory) served over TLS on 127.0.0.1, behind the contract of the
// built-in one: Basic auth whose password is a Wharf token, repositories
// <org>/<name>. It records every request. It is imported by tests only.
package buildtest

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the storage of the fake
	"github.com/sirupsen/logrus"
)

// FakeRegistry stands in for the server's built-in registry.
type FakeRegistry struct {
	// Host is 127.0.0.1:port, as api.RegistryInfo.Host names it.
	Host string
	// CAPEM is the certificate to trust it with.
	CAPEM []byte
	// Token is the only password it takes; any username goes.
	Token string

	mu       sync.Mutex
	requests []string
}

// NewFakeRegistry starts a fake registry that takes token, stopped when
// the test ends.
func NewFakeRegistry(t testing.TB, token string) *FakeRegistry {
	t.Helper()
	logrus.SetLevel(logrus.PanicLevel) // the registry logs every 404 as an error
	cfg := &configuration.Configuration{Storage: configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}}
	app := handlers.NewApp(context.Background(), cfg)
	f := &FakeRegistry{Token: token}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		if _, pw, ok := r.BasicAuth(); !ok || pw != f.Token {
			w.Header().Set("WWW-Authenticate", `Basic realm="wharf"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		app.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.Host = strings.TrimPrefix(srv.URL, "https://")
	f.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return f
}

// Requests are "METHOD /path" of every request so far.
func (f *FakeRegistry) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// Pushes counts the requests so far that wrote to it (POST, PUT, PATCH).
func (f *FakeRegistry) Pushes() int {
	n := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "PUT ") || strings.HasPrefix(r, "POST ") || strings.HasPrefix(r, "PATCH ") {
			n++
		}
	}
	return n
}
