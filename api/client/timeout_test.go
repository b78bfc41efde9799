package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

const testTimeout = 200 * time.Millisecond

func newTestClient(t *testing.T, addr string, timeout time.Duration) *Client {
	t.Helper()
	c, err := New(Options{Addr: addr, Token: "t", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for {
			select {
			case c := <-conns:
				_ = c.Close()
			default:
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

// TestTimeoutBoundsCalls: against a server that never answers, a call
// returns within the client's timeout with an error that says so.
func TestTimeoutBoundsCalls(t *testing.T) {
	c := newTestClient(t, silentServer(t), testTimeout)
	// The outer bound only keeps a broken client from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Services(ctx)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a call to a silent server succeeded")
	}
	if took < testTimeout || took > testTimeout+2*time.Second {
		t.Fatalf("the call returned after %s, want about %s: %v", took, testTimeout, err)
	}
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %T %v: want a *TimeoutError that is a context.DeadlineExceeded", err, err)
	}
	if want := "did not answer GET /v1/services"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), testTimeout.String()) {
		t.Fatalf("err %q: want it to say %q within %s", err, want, testTimeout)
	}

	// The caller's own deadline stays the caller's: not reported as
	// the client's timeout.
	short, cancelShort := context.WithTimeout(context.Background(), testTimeout/4)
	defer cancelShort()
	if err := c.Do(short, http.MethodGet, "/v1/services", nil, nil); !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &te) {
		t.Fatalf("with the caller's shorter deadline: err %T %v", err, err)
	}
}

// TestTimeoutDefault: 0 is DefaultTimeout, a negative timeout none.
func TestTimeoutDefault(t *testing.T) {
	if c := newTestClient(t, "https://127.0.0.1:1", 0); c.timeout != DefaultTimeout {
		t.Fatalf("timeout %s, want %s", c.timeout, DefaultTimeout)
	}
	if c := newTestClient(t, "https://127.0.0.1:1", -1); c.timeout != 0 {
		t.Fatalf("timeout %s, want none", c.timeout)
	}
}

// TestStreamsOutliveTimeout: a followed stream (events, logs) and a long
// exec go on well past the client's timeout.
func TestStreamsOutliveTimeout(t *testing.T) {
	const n = 6 // events, one every testTimeout/2: the stream lasts 3 timeouts
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= n; i++ {
			b, _ := json.Marshal(api.Event{ID: int64(i), Kind: "service", Type: "updated"})
			fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(testTimeout / 2):
			}
		}
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /v1/containers/web-1/logs", func(w http.ResponseWriter, r *http.Request) {
		for i := 1; i <= n; i++ {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(testTimeout / 2)
		}
	})
	mux.HandleFunc("POST /v1/containers/web-1/exec", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * testTimeout)
		_ = json.NewEncoder(w).Encode(api.ExecResult{Output: "done"})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newTestClient(t, srv.URL, testTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	start := time.Now()
	seen := 0
	done := errors.New("done")
	err := c.FollowEvents(ctx, "0", func(e api.Event) error {
		if seen++; seen == n {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) || seen != n {
		t.Fatalf("events: saw %d of %d: %v", seen, n, err)
	}
	if took := time.Since(start); took < 2*testTimeout {
		t.Fatalf("the event stream took %s, not past the timeout %s: the test proves nothing", took, testTimeout)
	}

	start = time.Now()
	body, err := c.Stream(ctx, LogsPath("containers", "web-1", true, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(body)
	_ = body.Close()
	if err != nil || strings.Count(string(b), "\n") != n || time.Since(start) < 2*testTimeout {
		t.Fatalf("logs after %s: %q, %v", time.Since(start), b, err)
	}

	res, err := c.Exec(ctx, "web-1", []string{"sleep", "1"})
	if err != nil || res.Output != "done" {
		t.Fatalf("exec longer than the timeout: %+v, %v", res, err)
	}
}
