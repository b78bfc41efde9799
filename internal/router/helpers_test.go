package router

// Test helpers: routers on loopback, named backends, clients that set the
// Host header, and bounded polling.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// newTestRouter makes a router listening on loopback ports, closed at the
// end of the test.
func newTestRouter(t testing.TB, cfg Config) *Router {
	t.Helper()
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if cfg.HTTPSAddr == "" {
		cfg.HTTPSAddr = "127.0.0.1:0"
	}
	if cfg.TCPHost == "" {
		cfg.TCPHost = "127.0.0.1"
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func mustApply(t testing.TB, r *Router, tbl *api.RouteTable) {
	t.Helper()
	if err := r.Apply(tbl); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// testBackend is an httptest server that answers with its name and
// counts its requests.
type testBackend struct {
	*httptest.Server
	name string
	hits atomic.Int64
}

func newBackendServer(t testing.TB, name string, h http.HandlerFunc) *testBackend {
	t.Helper()
	return newBackendServerWith(t, name, h, nil)
}

// newBackendServerWith lets configure change the backend's http.Server
// before it starts.
func newBackendServerWith(t testing.TB, name string, h http.HandlerFunc, configure func(*http.Server)) *testBackend {
	t.Helper()
	b := &testBackend{name: name}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b.hits.Add(1)
		w.Header().Set("X-Backend", name)
		if h != nil {
			h(w, req)
			return
		}
		_, _ = io.WriteString(w, name)
	}))
	if configure != nil {
		configure(b.Config)
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// be is the table's Backend for a test backend.
func (b *testBackend) be() api.Backend {
	return api.Backend{Container: b.name, Node: "n1", Address: b.Listener.Addr().String()}
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	_ = l.Close()
	return a
}

func table(http ...api.HTTPRoute) *api.RouteTable {
	return &api.RouteTable{Revision: 1, Router: true, HTTP: http}
}

func route(name, host, path string, backends ...*testBackend) api.HTTPRoute {
	rt := api.HTTPRoute{Service: "s-" + name, Name: name, Host: host, Path: path}
	for _, b := range backends {
		rt.Backends = append(rt.Backends, b.be())
	}
	return rt
}

// get sends a request for host and path to the router's HTTP listener and
// returns the status and body.
func get(t testing.TB, c *http.Client, r *Router, host, path string) (int, string, http.Header) {
	t.Helper()
	return do(t, c, "GET", "http://"+r.HTTPAddr().String()+path, host, nil)
}

func do(t testing.TB, c *http.Client, method, url, host string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, url, host, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header
}

// noRedirects is a client that shows redirects instead of following them.
func noRedirects() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// eventually polls cond every 20 ms for at most 15 s; it waits for a state
// to be reached and asserts nothing about how long that took.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 750 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never happened: %s", what)
}

// testCA is a certificate authority made for one test, and the PEM
// (certificate and key in one) of certificates it signs.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wharf test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

var serial atomic.Int64

// issue makes a certificate for names and returns its PEM chain and key.
func (ca *testCA) issue(t testing.TB, names ...string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(100 + serial.Add(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	_ = pem.Encode(&sb, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&sb, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return sb.String()
}

// httpsClient trusts ca and dials the router's HTTPS listener whatever the
// URL's host, so that the URL can carry the server name.
func httpsClient(r *Router, ca *testCA, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.pool},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, r.HTTPSAddr().String())
		},
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
