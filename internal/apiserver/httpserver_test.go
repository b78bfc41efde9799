package apiserver

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hostile"
)

// shortTimeouts stand in for DefaultTimeouts so that the tests need not
// wait minutes.
var shortTimeouts = Timeouts{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond, Idle: 300 * time.Millisecond}

// serveWithTimeouts serves e's handler through NewHTTPServer with t on a
// loopback port and returns its address.
func serveWithTimeouts(e *env, t Timeouts) string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := NewHTTPServer(e.s.Handler(), t, nil)
	go func() { _ = srv.Serve(ln) }()
	e.t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowBodyIsCutOff: a slowloris client that trickles a body one byte at
// a time is answered and cut off at the read timeout, long before it has
// sent its body.
func TestSlowBodyIsCutOff(t *testing.T) {
	e := newEnv(t)
	addr := serveWithTimeouts(e, shortTimeouts)
	const n = 200 // 200 bytes at 50ms each would hold the connection 10s
	sent, status := hostile.SlowBody(dial(t, addr), "/v1/services", e.admin, n, 50*time.Millisecond)
	if sent >= n {
		t.Fatalf("the server read all %d bytes of a body trickled over 10s (status %q): no read timeout", sent, status)
	}
	if status != "" && !strings.Contains(status, " 400 ") {
		t.Fatalf("slow body answered %q, want 400 or a closed connection", status)
	}
}

// TestIdleKeepAliveIsClosed: a keep-alive connection that stays silent is
// closed by the server after the idle timeout.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	e := newEnv(t)
	addr := serveWithTimeouts(e, shortTimeouts)
	closed, err := hostile.IdleKeepAlive(dial(t, addr), "/livez", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !closed {
		t.Fatal("an idle keep-alive connection was still open after 10s: no idle timeout")
	}
}

// TestFollowStreamOutlivesReadTimeout: a followed log stream keeps
// delivering lines long after the read timeout, and an event stream too.
func TestFollowStreamOutlivesReadTimeout(t *testing.T) {
	e := newEnv(t)
	addr := serveWithTimeouts(e, shortTimeouts)
	web := e.createService("web", 1)
	putContainer(t, e, "c1", "web-1", web.ID, 1, "n1")
	live := make(chan string)
	e.logs.mu.Lock()
	e.logs.live = live
	e.logs.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	get := func(path string) *bufio.Reader {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return bufio.NewReader(resp.Body)
	}
	logs := get("/v1/services/web/logs?follow=1")
	events := get("/v1/events?stream=1")

	time.Sleep(4 * shortTimeouts.Read) // well past the read timeout
	select {
	case live <- "after the read timeout":
	case <-time.After(5 * time.Second):
		t.Fatal("log source not reading: the stream was cut")
	}
	if got, err := logs.ReadString('\n'); err != nil || !strings.HasSuffix(got, "after the read timeout\n") {
		t.Fatalf("followed line %q, %v", got, err)
	}
	e.createService("late", 1)
	for range 100 {
		line, err := events.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream cut after the read timeout: %v", err)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"late"`) {
			return
		}
	}
	t.Fatal("no event for service late in 100 lines")
}
