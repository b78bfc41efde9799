package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// timeoutConn fails every read with an error that says it is temporary, as
// a TCP timeout under the TLS connection does.
type timeoutConn struct{ net.Conn }

type tempErr struct{}

func (tempErr) Error() string   { return "read: connection timed out" }
func (tempErr) Timeout() bool   { return true }
func (tempErr) Temporary() bool { return true }

func (timeoutConn) Read([]byte) (int, error) { return 0, tempErr{} }

// TestServeEndsWhenTheSessionEndsTemporarily: an HTTP server over a yamux
// session whose connection failed with a "temporary" error must return,
// not retry Accept for ever (the session would never be unregistered).
func TestServeEndsWhenTheSessionEndsTemporarily(t *testing.T) {
	c1, c2 := net.Pipe()
	defer func() { _ = c2.Close() }()
	cfg := yamux.DefaultConfig()
	cfg.EnableKeepAlive = false
	cfg.LogOutput = io.Discard
	mux, err := yamux.Server(timeoutConn{c1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	<-mux.CloseChan()
	_, err = mux.Accept()
	//lint:ignore SA1019 Temporary is what http.Server's Serve checks
	if !errors.As(err, &ne) || !ne.Temporary() {
		t.Fatalf("the session's error is not a temporary net.Error (%v): this test no longer tests anything", err)
	}
	done := make(chan error, 1)
	go func() { done <- (&http.Server{ReadHeaderTimeout: time.Second}).Serve(sessionListener{mux}) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still retrying Accept on an ended session after 5 s")
	}
}
