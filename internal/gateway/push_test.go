package gateway

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/tunnel"
)

// sessionPair is the gateway's and the agent's ends of a yamux session
// over an in-memory connection.
func sessionPair(t *testing.T, log *slog.Logger) (gatewayEnd, agentEnd *yamux.Session) {
	t.Helper()
	c1, c2 := net.Pipe()
	srv, err := yamux.Server(c1, tunnel.ServerConfig(log))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := yamux.Client(c2, tunnel.Config(log))
	if err != nil {
		t.Fatal(err)
	}
	return srv, cli
}

// pushTestSession is a gateway session over a real yamux pair whose agent
// end answers PUT /agent/v1/assignments with answer (and records the
// revisions it accepted).
func pushTestSession(t *testing.T, answer func(rev int64) int) (*session, *atomic.Int64) {
	t.Helper()
	g := &Gateway{log: slog.New(slog.DiscardHandler), sessions: map[string]*session{}, nodes: map[string]*nodeLive{}, agentRoutes: agentRoutes()}
	srvMux, cliMux := sessionPair(t, g.log)
	var got atomic.Int64
	h := http.NewServeMux()
	h.HandleFunc("PUT /agent/v1/assignments", func(w http.ResponseWriter, r *http.Request) {
		var a api.Assignments
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Errorf("agent: %v", err)
		}
		code := answer(a.Revision)
		if code/100 == 2 {
			got.Store(a.Revision)
		}
		w.WriteHeader(code)
	})
	agentSrv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go func() { _ = agentSrv.Serve(cliMux) }()
	s := newSession(g, "n1", "1", srvMux)
	served := make(chan struct{})
	go func() { s.serve(); close(served) }()
	t.Cleanup(func() {
		s.close()
		_ = agentSrv.Close()
		_ = cliMux.Close()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Error("serve did not return after close: a pusher still runs")
		}
	})
	return s, &got
}

func pushing(s *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushing
}

func waitPush(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPusherRunsOnlyWhileThereIsSomethingToSend: an idle session holds no
// pusher goroutine; an offer starts one, which ends once the agent has it.
func TestPusherRunsOnlyWhileThereIsSomethingToSend(t *testing.T) {
	s, got := pushTestSession(t, func(int64) int { return http.StatusNoContent })
	if pushing(s) {
		t.Fatal("a new session runs a pusher with nothing to send")
	}
	for rev := int64(1); rev <= 3; rev++ {
		s.offer(&offeredSet{Assignments: &api.Assignments{Revision: rev}})
		waitPush(t, "the agent has the set", func() bool { return got.Load() == rev })
		waitPush(t, "the pusher ended", func() bool { return !pushing(s) })
	}
}

// TestPushesArePacedAndGathered: a set offered soon after a push waits
// until pushEvery has passed, and the sets offered meanwhile go out as
// one, the latest.
func TestPushesArePacedAndGathered(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	var revs []int64
	s, got := pushTestSession(t, func(rev int64) int {
		mu.Lock()
		at, revs = append(at, time.Now()), append(revs, rev)
		mu.Unlock()
		return http.StatusNoContent
	})
	s.offer(&offeredSet{Assignments: &api.Assignments{Revision: 1}})
	waitPush(t, "the first set", func() bool { return got.Load() == 1 })
	for rev := int64(2); rev <= 4; rev++ {
		s.offer(&offeredSet{Assignments: &api.Assignments{Revision: rev}})
		time.Sleep(pushEvery / 10)
	}
	waitPush(t, "the latest set", func() bool { return got.Load() == 4 })
	waitPush(t, "the pusher ended", func() bool { return !pushing(s) })
	mu.Lock()
	defer mu.Unlock()
	if len(revs) != 2 || revs[1] != 4 {
		t.Fatalf("agent got revisions %v, want [1 4]: the sets offered within pushEvery go out as one", revs)
	}
	// Measured where the agent gets them, so a little less than pushEvery
	// (unpaced, the second would come within pushEvery/10).
	if gap, want := at[1].Sub(at[0]), pushEvery*9/10; gap < want {
		t.Fatalf("second push %s after the first, want at least %s", gap, want)
	}
}

// TestHelloHurriesThePush: after a hello, the set goes out without waiting
// for pushEvery.
func TestHelloHurriesThePush(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	s, got := pushTestSession(t, func(int64) int {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		return http.StatusNoContent
	})
	s.offer(&offeredSet{Assignments: &api.Assignments{Revision: 1}})
	waitPush(t, "the first set", func() bool { return got.Load() == 1 })
	s.offer(&offeredSet{Assignments: &api.Assignments{Revision: 2}})
	s.hurry()
	waitPush(t, "the set after the hello", func() bool { return got.Load() == 2 })
	mu.Lock()
	defer mu.Unlock()
	if gap := at[1].Sub(at[0]); gap >= pushEvery/2 {
		t.Fatalf("the set after a hello went %s after the last push: it waited for pushEvery (%s)", gap, pushEvery)
	}
}

// TestPusherRetriesAFailedPush: a set the agent refused is sent again
// pushRetry later, unless a newer one replaced it.
func TestPusherRetriesAFailedPush(t *testing.T) {
	var calls atomic.Int32
	s, got := pushTestSession(t, func(int64) int {
		if calls.Add(1) == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	s.offer(&offeredSet{Assignments: &api.Assignments{Revision: 7}})
	waitPush(t, "the set sent again after the refusal", func() bool { return got.Load() == 7 })
	if n := calls.Load(); n != 2 {
		t.Fatalf("agent asked %d times, want 2 (one refusal, one retry)", n)
	}
	waitPush(t, "the pusher ended", func() bool { return !pushing(s) })
}

// TestNoPusherAfterClose: an offer to a closed session starts nothing.
func TestNoPusherAfterClose(t *testing.T) {
	s, _ := pushTestSession(t, func(int64) int { return http.StatusNoContent })
	s.close()
	// Under s.mu, as offer calls it: a pusher started here could not
	// have ended (and cleared pushing) before the check.
	s.mu.Lock()
	s.startPusherLocked()
	started := s.pushing
	s.mu.Unlock()
	if started {
		t.Fatal("a closed session started a pusher")
	}
}
