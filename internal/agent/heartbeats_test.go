package agent

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
)

// fakeGateway runs h as the gateway's end of a session over a pipe and
// returns the agent's end, as an agentSession of a.
func fakeGateway(t *testing.T, a *Agent, h http.Handler) *agentSession {
	t.Helper()
	c1, c2 := net.Pipe()
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	gw, err := yamux.Server(c1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux, err := yamux.Client(c2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(gw) }()
	t.Cleanup(func() { _ = srv.Close(); _ = gw.Close(); _ = mux.Close() })
	return newAgentSession(a, mux)
}

func testAgent() *Agent {
	return &Agent{cfg: Config{HeartbeatInterval: time.Second}, log: slog.New(slog.DiscardHandler)}
}

// A heartbeat on the stream counts as acknowledged (for fencing) only
// once its ack arrived, not when it was sent.
func TestHeartbeatStreamAckedOnlyOnAck(t *testing.T) {
	got := make(chan byte, 1)
	release := make(chan struct{})
	h := http.NewServeMux()
	h.HandleFunc("POST "+api.HeartbeatsPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != api.HeartbeatsUpgrade {
			http.Error(w, "no upgrade", http.StatusBadRequest)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.HeartbeatsUpgrade+"\r\n\r\n")
		b := []byte{0}
		for {
			if _, err := io.ReadFull(conn, b); err != nil {
				return
			}
			got <- b[0]
			<-release
			if _, err := conn.Write([]byte{api.HeartbeatAckByte}); err != nil {
				return
			}
		}
	})
	a := testAgent()
	s := fakeGateway(t, a, h)
	hb, err := s.openHeartbeats()
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	done := make(chan error, 1)
	go func() { done <- s.beat(hb) }()
	if b := <-got; b != api.HeartbeatByte {
		t.Fatalf("the gateway got %q, want a heartbeat", b)
	}
	time.Sleep(50 * time.Millisecond)
	if d := a.contact.silence(); d >= 0 {
		t.Fatalf("acked %s ago before the ack arrived", d)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := a.contact.silence(); d < 0 || d > time.Second {
		t.Fatalf("silence after the ack %s, want the heartbeat's age", d)
	}
	// A second beat: the stream carries on.
	if err := s.beat(hb); err != nil {
		t.Fatal(err)
	}
}

// A heartbeat whose ack does not come in time fails (and the session
// with it), as a heartbeat request without an answer does.
func TestHeartbeatStreamAckTimeout(t *testing.T) {
	h := http.NewServeMux()
	h.HandleFunc("POST "+api.HeartbeatsPath, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.HeartbeatsUpgrade+"\r\n\r\n")
		_, _ = io.Copy(io.Discard, conn) // never acks
	})
	a := testAgent()
	a.cfg.HeartbeatInterval = 10 * time.Millisecond // the timeout is then 5 s
	s := fakeGateway(t, a, h)
	hb, err := s.openHeartbeats()
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	start := time.Now()
	err = s.beat(hb)
	if err == nil || !errors.Is(err, yamux.ErrTimeout) {
		t.Fatalf("beat without an ack: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 4*time.Second || d > 7*time.Second {
		t.Errorf("gave up after %s, want 5 s", d)
	}
	if d := a.contact.silence(); d >= 0 {
		t.Errorf("acked without an ack")
	}
}

// A gateway of an earlier version has no heartbeat stream (404, or 405
// should it know the path for another method): the agent heartbeats with
// a request each, as before. Any other answer is an error.
func TestHeartbeatStreamFallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		fallback bool
	}{
		{"not found", http.StatusNotFound, true},
		{"method not allowed", http.StatusMethodNotAllowed, true},
		{"unavailable", http.StatusServiceUnavailable, false},
		{"ok without upgrading", http.StatusOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.NewServeMux()
			h.HandleFunc("POST /agent/v1/heartbeat", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
			h.HandleFunc(api.HeartbeatsPath, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
			})
			a := testAgent()
			s := fakeGateway(t, a, h)
			hb, err := s.openHeartbeats()
			if hb != nil {
				_ = hb.Close()
			}
			if got := errors.Is(err, errNoHeartbeatStream); got != tc.fallback || err == nil {
				t.Fatalf("open: %v, want a fallback: %v", err, tc.fallback)
			}
			if !tc.fallback {
				return
			}
			if err := s.heartbeat(t.Context()); err != nil {
				t.Fatal(err)
			}
			if a.contact.silence() < 0 {
				t.Error("the heartbeat request was not acked")
			}
		})
	}
}
