package acme_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/router/acme"
)

func testLog() *slog.Logger {
	if os.Getenv("WHARF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// memCache is the organization's shared cache as the router nodes see it,
// in memory; it counts the writes of each key.
type memCache struct {
	mu   sync.Mutex
	data map[string][]byte
	puts map[string]int
}

func newMemCache() *memCache {
	return &memCache{data: map[string][]byte{}, puts: map[string]int{}}
}

func (c *memCache) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.data[key]
	if !ok {
		return nil, autocert.ErrCacheMiss
	}
	return slices.Clone(b), nil
}

func (c *memCache) Put(_ context.Context, key string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[key] = slices.Clone(data)
	c.puts[key]++
	return nil
}

func (c *memCache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.data, key)
	return nil
}

// putsOf counts the writes of keys that end with suffix (a host's
// certificate: every key has its directory's prefix).
func (c *memCache) putsOf(suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.puts {
		if strings.HasSuffix(k, "_"+suffix) {
			n += v
		}
	}
	return n
}

// keys lists the keys written so far.
func (c *memCache) keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.puts))
}

// unusedDirectory is an https directory nothing answers on: the tests
// that use it must never reach it.
const unusedDirectory = "https://127.0.0.1:1/dir"

// New refuses a configuration it cannot use, naming the field.
func TestNewValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  api.ACMEConfig
		want string
	}{
		"no directory":     {api.ACMEConfig{}, "directory: empty"},
		"http directory":   {api.ACMEConfig{Directory: "http://acme.example/dir"}, "want an https:// URL"},
		"no host":          {api.ACMEConfig{Directory: "https:///dir"}, "want an https:// URL"},
		"bad email":        {api.ACMEConfig{Directory: unusedDirectory, Email: "ops at example"}, "email"},
		"named email":      {api.ACMEConfig{Directory: unusedDirectory, Email: "Ops <ops@example.com>"}, "bare address"},
		"CA not PEM":       {api.ACMEConfig{Directory: unusedDirectory, CA: "not a certificate"}, "ca: no PEM certificate"},
		"CA a private key": {api.ACMEConfig{Directory: unusedDirectory, CA: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, `ca: holds a PEM "PRIVATE KEY" block`},
		"CA bad DER":       {api.ACMEConfig{Directory: unusedDirectory, CA: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "ca: certificate 1 does not parse"},
	} {
		_, err := acme.New(tc.cfg, newMemCache(), testLog())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New: %v, want an error with %q", name, err, tc.want)
		}
	}
	if _, err := acme.New(api.ACMEConfig{Directory: unusedDirectory}, nil, testLog()); err == nil {
		t.Error("New without a cache: no error")
	}
	m, err := acme.New(api.ACMEConfig{Directory: unusedDirectory, Email: "ops@example.com"}, newMemCache(), testLog())
	if err != nil {
		t.Fatalf("New with a good configuration: %v", err)
	}
	if err := m.Update(api.ACMEConfig{Directory: "ftp://x/dir"}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Update with a bad directory: %v, want an error naming the directory", err)
	}
}

// The host policy: only the configured hosts, by exact name; a wildcard
// route host's names are refused saying why; refused names order
// nothing (the directory here answers nothing, so an order would fail
// otherwise than by the policy).
func TestHostPolicy(t *testing.T) {
	cache := newMemCache()
	m, err := acme.New(api.ACMEConfig{Directory: unusedDirectory, Hosts: []string{"app.example.com", "*.wild.example.com"}}, cache, testLog())
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"other.example.com":    "not the host of an https route",
		"a.app.example.com":    "not the host of an https route",
		"x.wild.example.com":   "wildcard route host",
		"a.b.wild.example.com": "wildcard route host",
	} {
		_, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: host})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", host, err, want)
		}
	}
	// HTTP-01 requests for a refused host are refused too; other paths
	// go to the fallback.
	h := m.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for target, want := range map[string]int{
		"http://other.example.com/.well-known/acme-challenge/tok":    http.StatusForbidden,
		"http://x.wild.example.com/.well-known/acme-challenge/tok":   http.StatusForbidden,
		"http://app.example.com:8080/.well-known/acme-challenge/tok": http.StatusNotFound, // allowed; no such token
		"http://app.example.com/index.html":                          http.StatusTeapot,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", target, rec.Code, want)
		}
	}
	if k := cache.keys(); len(k) != 0 {
		t.Errorf("refused hosts wrote to the cache: %v", k)
	}
	// Update's hosts apply at once.
	if err := m.Update(api.ACMEConfig{Directory: unusedDirectory, Hosts: []string{"other.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "app.example.com"}); err == nil || !strings.Contains(err.Error(), "not the host") {
		t.Errorf("a host dropped by Update: %v, want it refused", err)
	}
}

// Close stops the manager without reaching the cache or the ACME server:
// a handshake for a configured host fails saying so, and Update refuses.
func TestClose(t *testing.T) {
	cache := newMemCache()
	m, err := acme.New(api.ACMEConfig{Directory: unusedDirectory, Hosts: []string{"app.example.com"}}, cache, testLog())
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "app.example.com"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("GetCertificate after Close: %v, want an error saying the client is closed", err)
	}
	if err := m.Update(api.ACMEConfig{Directory: unusedDirectory}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Update after Close: %v, want an error saying the manager is closed", err)
	}
	if k := cache.keys(); len(k) != 0 {
		t.Errorf("a closed manager wrote to the cache: %v", k)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func portOf(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// serveTLS completes TLS handshakes on ln with cfg (the router's HTTPS
// port, for what matters here) until the test ends.
func serveTLS(t *testing.T, ln net.Listener, cfg *tls.Config) {
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { _ = ln.Close() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
				tc := tls.Server(c, cfg)
				if tc.Handshake() == nil {
					_, _ = io.Copy(io.Discard, tc)
				}
			})
		}
	})
}

// dialVerify connects to addr for host and verifies the certificate it is
// served against roots; it returns the leaf's serial.
func dialVerify(t *testing.T, addr, host string, cfg *tls.Config) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // an order included
	defer cancel()
	cfg = cfg.Clone()
	cfg.ServerName = host
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	st := c.(*tls.Conn).ConnectionState()
	if len(st.VerifiedChains) == 0 {
		return "", errors.New("no verified chain")
	}
	leaf := st.PeerCertificates[0]
	if err := leaf.VerifyHostname(host); err != nil {
		return "", err
	}
	return leaf.SerialNumber.String(), nil
}
