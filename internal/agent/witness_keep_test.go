package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestWitnessKeepsItsConnection: an asker's questions go over one
// connection (one handshake), and each question on it is checked against
// the askers of the moment: a node the witness no longer answers gets
// nothing on the connection it already holds, nor on a new one.
func TestWitnessKeepsItsConnection(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	cert := nodeCert(t, ca, "w")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: raw}
	var allowed atomic.Bool
	allowed.Store(true)
	w := &witnessServer{
		creds:   func() (*tls.Certificate, *x509.CertPool) { return &cert, ca.Pool() },
		askers:  func(n string) bool { return n == "asker" && allowed.Load() },
		silence: func() time.Duration { return 2 * time.Second },
		log:     slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	asker := nodeCert(t, ca, "asker")
	wc := newWitnessClient(func() (*tls.Certificate, *x509.CertPool) { return &asker, ca.Pool() })
	defer wc.close()
	wt := api.Witness{Node: "w", Address: raw.Addr().String()}
	for i := range 3 {
		if d, err := wc.ask(t.Context(), wt); err != nil || d != 2*time.Second {
			t.Fatalf("question %d: %s, %v; want 2s", i, d, err)
		}
	}
	if n := ln.n.Load(); n != 1 {
		t.Errorf("3 questions took %d connections, want 1", n)
	}
	// No longer an asker: the witness closes the kept connection at the
	// question; the asker tries once more on a new one, within the same
	// question (as it does when a witness restarted), and that one fails
	// its handshake.
	allowed.Store(false)
	if _, err := wc.ask(t.Context(), wt); err == nil {
		t.Error("a node that is no longer an asker got an answer")
	}
	if n := ln.n.Load(); n != 2 {
		t.Errorf("the refused question: %d connections, want the kept one and one new", n)
	}
	// An asker again: the next question dials anew and is answered.
	allowed.Store(true)
	if _, err := wc.ask(t.Context(), wt); err != nil {
		t.Fatal(err)
	}
	if n := ln.n.Load(); n != 3 {
		t.Errorf("after the refusal: %d connections, want 3", n)
	}
	// Forgetting the witness closes the connection; asking again dials anew.
	wc.keep(nil)
	if _, err := wc.ask(t.Context(), wt); err != nil {
		t.Fatal(err)
	}
	if n := ln.n.Load(); n != 4 {
		t.Errorf("after the witness was forgotten: %d connections, want 4", n)
	}
}
