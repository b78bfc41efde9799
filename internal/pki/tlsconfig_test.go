package pki_test

import (
	"crypto/tls"
	"io"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/pki"
)

// serveTLS accepts TLS connections with cfg on a loopback port, completing
// each handshake, until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				if tc, ok := conn.(*tls.Conn); ok && tc.Handshake() == nil {
					_, _ = io.Copy(io.Discard, conn)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestServerTLSConfigRefusesCBC offers the server config only CBC-SHA1 and
// static-RSA suites in TLS 1.2, as a downgrading client would: every such
// handshake must fail, while ECDHE with AES-GCM or ChaCha20 and TLS 1.3
// succeed.
func TestServerTLSConfigRefusesCBC(t *testing.T) {
	ca, err := pki.NewCA("wharf-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, pki.ServerTLSConfig(cert))

	for _, weak := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	} {
		if got, err := hostile.TLS12Handshake(addr, weak); err == nil {
			t.Errorf("TLS 1.2 with only %s offered: the server accepted %s, want a refusal", tls.CipherSuiteName(weak), tls.CipherSuiteName(got))
		}
	}
	for _, good := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		if got, err := hostile.TLS12Handshake(addr, good); err != nil || got != good {
			t.Errorf("TLS 1.2 with %s: got %s, %v", tls.CipherSuiteName(good), tls.CipherSuiteName(got), err)
		}
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatalf("TLS 1.3: %v", err)
	}
	_ = conn.Close()
}

// TestServerTLSConfigSuitesAreAEAD checks the list itself: every suite is
// ECDHE, AEAD and not insecure by Go's own classification.
func TestServerTLSConfigSuitesAreAEAD(t *testing.T) {
	ok := map[uint16]bool{}
	for _, s := range tls.CipherSuites() {
		ok[s.ID] = true
	}
	for _, id := range pki.ServerTLSConfig().CipherSuites {
		if !ok[id] {
			t.Errorf("%s is not among Go's secure suites", tls.CipherSuiteName(id))
		}
	}
}
