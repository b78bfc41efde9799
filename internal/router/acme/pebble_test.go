package acme_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/router/acme"
	"github.com/wharfhq/wharf/internal/testpebble"
)

// Two router nodes, A and B, share one cache. Pebble validates on B's
// ports, while A, where the client connects, starts the orders: so every
// certificate here also shows that a node answers the challenges of an
// order another node started, by TLS-ALPN-01 and by HTTP-01. B then
// serves A's certificate from the cache without an order of its own.
func TestCertificatesFromPebble(t *testing.T) {
	bTLS, bHTTP := listen(t), listen(t) // node B's HTTPS and HTTP ports
	p := testpebble.Start(t, testpebble.Config{HTTPPort: portOf(bHTTP), TLSPort: portOf(bTLS)})
	cfg := api.ACMEConfig{Directory: p.Directory, CA: p.CA, Email: "ops@wharf.test",
		Hosts: []string{"alpn.wharf.test", "http.wharf.test", "*.wild.wharf.test"}}
	cache := newMemCache()
	a, err := acme.New(cfg, cache, testLog().With("node", "A"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := acme.New(cfg, cache, testLog().With("node", "B"))
	if err != nil {
		t.Fatal(err)
	}
	a.HTTPHandler(nil) // A's HTTP port is elsewhere; it offers HTTP-01 all the same

	var alpnOff atomic.Bool
	var alpnHellos, httpAnswers atomic.Int64
	serveTLS(t, bTLS, &tls.Config{NextProtos: []string{"http/1.1", acme.ALPNProto},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if len(h.SupportedProtos) == 1 && h.SupportedProtos[0] == acme.ALPNProto {
				if alpnOff.Load() {
					return nil, errors.New("TLS-ALPN-01 is off for this part of the test")
				}
				alpnHellos.Add(1)
			}
			return b.GetCertificate(h)
		}})
	challenges := b.HTTPHandler(http.NotFoundHandler())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		challenges.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") && rec.status == http.StatusOK {
			httpAnswers.Add(1)
		}
	})}
	go func() { _ = srv.Serve(bHTTP) }()
	t.Cleanup(func() { _ = srv.Close() })
	aTLS := listen(t)
	serveTLS(t, aTLS, &tls.Config{NextProtos: []string{"http/1.1", acme.ALPNProto}, GetCertificate: a.GetCertificate})

	client := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.RootPool(t)}

	serialA, err := dialVerify(t, aTLS.Addr().String(), "alpn.wharf.test", client)
	if err != nil {
		t.Fatalf("TLS-ALPN-01: A's certificate for alpn.wharf.test: %v", err)
	}
	if alpnHellos.Load() == 0 {
		t.Fatal("A got a certificate, but no TLS-ALPN-01 validation reached B")
	}
	puts := cache.putsOf("alpn.wharf.test")
	if puts == 0 {
		t.Fatalf("A's certificate is not in the shared cache: %v", cache.keys())
	}
	serialB, err := dialVerify(t, bTLS.Addr().String(), "alpn.wharf.test", client)
	if err != nil {
		t.Fatalf("B serving A's certificate: %v", err)
	}
	if serialB != serialA || cache.putsOf("alpn.wharf.test") != puts {
		t.Errorf("B served serial %s (cache writes %d -> %d), want A's %s from the cache without an order",
			serialB, puts, cache.putsOf("alpn.wharf.test"), serialA)
	}

	alpnOff.Store(true)
	if _, err := dialVerify(t, aTLS.Addr().String(), "http.wharf.test", client); err != nil {
		t.Fatalf("HTTP-01: A's certificate for http.wharf.test: %v", err)
	}
	if httpAnswers.Load() == 0 {
		t.Fatal("A got a certificate with TLS-ALPN-01 off, but no HTTP-01 validation was answered by B")
	}

	for host, want := range map[string]string{
		"other.wharf.test":  "not the host",
		"a.wild.wharf.test": "wildcard",
	} {
		if _, err := dialVerify(t, aTLS.Addr().String(), host, client); err == nil {
			t.Errorf("%s: a certificate was served", host)
		}
		if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: host}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", host, err, want)
		}
		if n := cache.putsOf(host); n != 0 {
			t.Errorf("%s: refused, yet %d cache writes", host, n)
		}
	}

	// A new account (another email) keeps serving the cached certificate
	// of the same directory; a dropped host is refused at once.
	cfg.Email, cfg.Hosts = "other@wharf.test", []string{"alpn.wharf.test"}
	if err := a.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if s, err := dialVerify(t, aTLS.Addr().String(), "alpn.wharf.test", client); err != nil || s != serialA {
		t.Errorf("after Update: serial %s, %v; want the cached %s", s, err, serialA)
	}
	if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: "http.wharf.test"}); err == nil {
		t.Error("after Update: http.wharf.test, no longer configured, still served")
	}
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
