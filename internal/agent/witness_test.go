package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

// nodeCert is a node certificate ca signs for id.
func nodeCert(t *testing.T, ca *pki.CA, id string) tls.Certificate {
	t.Helper()
	key, csr, err := pki.NewKeyAndCSR(id)
	if err != nil {
		t.Fatal(err)
	}
	crt, _, err := ca.SignNodeCSR(csr, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startWitness runs a witness listener for node "w" of ca that answers
// node "asker" only, with a silence of 1.5 s; it returns its address.
func startWitness(t *testing.T, ca *pki.CA, cert tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &witnessServer{
		creds:   func() (*tls.Certificate, *x509.CertPool) { return &cert, ca.Pool() },
		askers:  func(n string) bool { return n == "asker" },
		silence: func() time.Duration { return 1500 * time.Millisecond },
		log:     slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// TestWitnessAnswersAnAsker: a node the server named as an asker gets the
// answer, and checks that the witness is the node it expects.
func TestWitnessAnswersAnAsker(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	addr := startWitness(t, ca, nodeCert(t, ca, "w"))
	asker := nodeCert(t, ca, "asker")
	creds := func() (*tls.Certificate, *x509.CertPool) { return &asker, ca.Pool() }
	wc := newWitnessClient(creds)
	defer wc.close()
	d, err := wc.ask(t.Context(), api.Witness{Node: "w", Address: addr})
	if err != nil || d != 1500*time.Millisecond {
		t.Fatalf("ask = %s, %v; want 1.5s", d, err)
	}
	got := wc.askAll(t.Context(), []api.Witness{{Node: "w", Address: addr}, {Node: "gone", Address: "127.0.0.1:1"}})
	if len(got) != 1 || got[0] != 1500*time.Millisecond {
		t.Errorf("askAll = %v, want the one answer", got)
	}
	// The listener is not the node the server named: no answer is taken.
	if _, err := wc.ask(t.Context(), api.Witness{Node: "someone-else", Address: addr}); err == nil {
		t.Error("an answer from a listener with another node's certificate was taken")
	}
}

// TestWitnessRefusals: whoever reaches the port without a node certificate
// of this cluster naming an asker gets no answer.
func TestWitnessRefusals(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := pki.NewCA("other cluster")
	if err != nil {
		t.Fatal(err)
	}
	addr := startWitness(t, ca, nodeCert(t, ca, "w"))

	dockerKey, dockerCSR, err := pki.NewKeyAndCSR("asker")
	if err != nil {
		t.Fatal(err)
	}
	dockerPEM, _, err := ca.SignDockerClientCSR(dockerCSR, "asker", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	docker, err := tls.X509KeyPair(dockerPEM, dockerKey)
	if err != nil {
		t.Fatal(err)
	}
	srvPEM, srvKey, err := ca.IssueServer([]string{"asker"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	server, err := tls.X509KeyPair(srvPEM, srvKey)
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		cert *tls.Certificate
	}{
		{"no client certificate", nil},
		{"a node certificate of another cluster's CA", new(nodeCert(t, foreign, "asker"))},
		{"a Docker client certificate of this cluster", &docker},
		{"a server certificate of this cluster (not a client's)", &server},
		{"a node of this cluster that is not an asker", new(nodeCert(t, ca, "stranger"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true} //nolint:gosec // the listener is what is tested
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{*tt.cert}
			}
			err := func() error {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
				if err != nil {
					return err
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				// TLS 1.3: the server's verdict on the client's certificate
				// arrives with the first read.
				if _, err := c.Write([]byte{witnessQuestion}); err != nil {
					return err
				}
				var a [8]byte
				_, err = io.ReadFull(c, a[:])
				return err
			}()
			if err == nil {
				t.Fatal("answered; want the handshake refused")
			}
			if !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("refused, but not by TLS: %v", err)
			}
		})
	}
}
