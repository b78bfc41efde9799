package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/router/acme"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testpebble"
)

// The whole path: two router nodes' agents, each with an ACME manager on
// its session's ACME cache, and pebble validating on node B's ports while
// the client connects to node A. A's orders are answered by B from the
// server's cache (TLS-ALPN-01, then HTTP-01), B serves A's certificate
// without an order, and the store holds every entry sealed.
func TestRouterNodesShareACMECertificates(t *testing.T) {
	e := newSealedEnv(t)
	start := func(host string) *agent.ACMECache {
		p := e.startAgent(t.TempDir(), host, e.token, newMemDriver(), func(c *agent.Config) {
			c.Labels = map[string]string{api.RouterLabel: "true"}
		})
		waitAgentID(t, p)
		c := p.a.ACMECache()
		eventually(t, 10*time.Second, host+"'s session", func() error {
			if _, err := c.Get(e.ctx, "probe"); !errors.Is(err, autocert.ErrCacheMiss) {
				return fmt.Errorf("get: %v", err)
			}
			return nil
		})
		return c
	}
	cacheA, cacheB := start("router-a"), start("router-b")

	bTLS, bHTTP := listenLoopback(t), listenLoopback(t)
	p := testpebble.Start(t, testpebble.Config{HTTPPort: bHTTP.Addr().(*net.TCPAddr).Port, TLSPort: bTLS.Addr().(*net.TCPAddr).Port})
	cfg := api.ACMEConfig{Directory: p.Directory, CA: p.CA, Hosts: []string{"alpn.wharf.test", "http.wharf.test"}}
	a, err := acme.New(cfg, cacheA, e.log)
	if err != nil {
		t.Fatal(err)
	}
	b, err := acme.New(cfg, cacheB, e.log)
	if err != nil {
		t.Fatal(err)
	}
	a.HTTPHandler(nil)

	var alpnOff atomic.Bool
	handshakes(t, bTLS, &tls.Config{NextProtos: []string{acme.ALPNProto},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if alpnOff.Load() && len(h.SupportedProtos) == 1 && h.SupportedProtos[0] == acme.ALPNProto {
				return nil, errors.New("TLS-ALPN-01 is off for this part of the test")
			}
			return b.GetCertificate(h)
		}})
	srv := &http.Server{Handler: b.HTTPHandler(nil)}
	go func() { _ = srv.Serve(bHTTP) }()
	t.Cleanup(func() { _ = srv.Close() })
	aTLS := listenLoopback(t)
	handshakes(t, aTLS, &tls.Config{NextProtos: []string{acme.ALPNProto}, GetCertificate: a.GetCertificate})

	roots := p.RootPool(t)
	serialA, err := verifiedSerial(aTLS.Addr().String(), "alpn.wharf.test", roots)
	if err != nil {
		t.Fatalf("TLS-ALPN-01 through the server's cache: %v", err)
	}
	if serialB, err := verifiedSerial(bTLS.Addr().String(), "alpn.wharf.test", roots); err != nil || serialB != serialA {
		t.Errorf("B serves serial %s (%v), want A's %s", serialB, err, serialA)
	}
	alpnOff.Store(true)
	if _, err := verifiedSerial(aTLS.Addr().String(), "http.wharf.test", roots); err != nil {
		t.Fatalf("HTTP-01 through the server's cache: %v", err)
	}

	res, err := e.st.ListPrefix(e.ctx, store.KindACME, records.ACMEPrefix("default"))
	if err != nil {
		t.Fatal(err)
	}
	var certs int
	for _, it := range res.Items {
		var rec records.ACMEEntry
		if err := it.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		if !seal.IsSealed(rec.Sealed) || strings.Contains(string(it.Value), "PRIVATE KEY") {
			t.Errorf("entry %s is not sealed", it.ID)
		}
		if strings.HasSuffix(rec.Name, "_alpn.wharf.test") || strings.HasSuffix(rec.Name, "_http.wharf.test") {
			certs++
		}
	}
	if certs != 2 {
		t.Errorf("the store holds %d certificates of the two hosts, want 2 (one each, for both nodes)", certs)
	}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// handshakes completes TLS handshakes on ln with cfg until the test ends.
func handshakes(t *testing.T, ln net.Listener, cfg *tls.Config) {
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
				if tc := tls.Server(c, cfg); tc.Handshake() == nil {
					_, _ = io.Copy(io.Discard, tc)
				}
			})
		}
	})
}

// verifiedSerial connects to addr for host, verifies the certificate
// against roots and returns its serial.
func verifiedSerial(addr, host string, roots *x509.CertPool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // an order included
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: host}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	st := c.(*tls.Conn).ConnectionState()
	if len(st.VerifiedChains) == 0 {
		return "", errors.New("no verified chain")
	}
	return st.PeerCertificates[0].SerialNumber.String(), nil
}
