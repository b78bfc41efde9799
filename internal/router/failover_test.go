package router

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestWaitsForABackendThatJustStarted: when every backend refuses the
// connection (the one container was just started and does not listen
// yet), the request waits a moment and is sent once one listens, instead
// of failing with 503.
func TestWaitsForABackendThatJustStarted(t *testing.T) {
	addr := deadAddr(t)
	r := newTestRouter(t, Config{})
	rt := api.HTTPRoute{Service: "s-web", Name: "web", Host: "app.example.com", Path: "/",
		Backends: []api.Backend{{Container: "late", Node: "n1", Address: addr}}}
	mustApply(t, r, table(rt))
	go func() {
		time.Sleep(300 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return // the port went to someone else: the request below fails and says so
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("late")) })}
		t.Cleanup(func() { _ = srv.Close() })
		_ = srv.Serve(ln)
	}()
	if status, body, _ := get(t, nil, r, "app.example.com", "/"); status != 200 || body != "late" {
		t.Errorf("request while the only backend starts: %d %q, want 200 from it once it listens", status, body)
	}
}

// silentBackend takes requests and closes each connection without a byte
// of answer, as a backend whose node died mid-request; it counts them.
func silentBackend(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					n.Add(1)
				}
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String(), &n
}

// TestReplayableRequestLeavesADeadBackend: a backend that takes a GET and
// closes the connection without a byte of answer is marked down, and the
// GET goes to another backend; a POST, which may have had effects, is
// never sent twice (502 when the one backend took it and died).
func TestReplayableRequestLeavesADeadBackend(t *testing.T) {
	dead, _ := silentBackend(t)
	good := newBackendServer(t, "good", nil)
	r := newTestRouter(t, Config{})
	rt := api.HTTPRoute{Service: "s-web", Name: "web", Host: "app.example.com", Path: "/",
		Backends: []api.Backend{{Container: "dead", Node: "n1", Address: dead}, good.be()}}
	mustApply(t, r, table(rt))
	for i := range 4 {
		if status, body, _ := get(t, nil, r, "app.example.com", "/"); status != 200 || body != "good" {
			t.Fatalf("GET %d: %d %q, want 200 from the live backend", i, status, body)
		}
	}

	only, took := silentBackend(t)
	rt.Host, rt.Backends = "post.example.com", []api.Backend{{Container: "only", Node: "n1", Address: only}}
	mustApply(t, r, table(rt))
	status, _, _ := do(t, nil, "POST", "http://"+r.HTTPAddr().String()+"/", "post.example.com", strings.NewReader("x"))
	if status != http.StatusBadGateway || took.Load() != 1 {
		t.Errorf("POST to a backend that died with it: %d, the backend took it %d times; want 502 and once", status, took.Load())
	}
}
