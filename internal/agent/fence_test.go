package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestDecide is the fence rule, over the witnesses' answers.
func TestDecide(t *testing.T) {
	const mine = 6 * time.Second // this agent's silence
	s := func(d ...time.Duration) []time.Duration { return d }
	for _, tt := range []struct {
		name     string
		known    int
		silences []time.Duration
		want     verdict
		fences   bool
	}{
		{"single node: no witness known", 0, nil, alone, false},
		{"no witness answers, though they did lately", 3, nil, isolated, true},
		{"one of three heard the server just now", 3, s(500 * time.Millisecond), cutOff, true},
		{"a witness heard it fenceSlack later than this agent", 3, s(mine - fenceSlack), cutOff, true},
		{"the server died: witnesses lost it about when this agent did", 3, s(mine-fenceSlack+time.Millisecond, mine-time.Second, mine+time.Second), serverDown, false},
		{"all answered, none heard it for longer", 3, s(mine, 9*time.Second, 20*time.Second), serverDown, false},
		{"one answered, never heard the server", 2, s(-1), serverDown, false},
		{"mixed: one silent long, one fresh", 3, s(30*time.Second, 2*time.Second), cutOff, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := decide(tt.known, tt.silences, mine, true)
			if v != tt.want || v.fences() != tt.fences {
				t.Errorf("decide = %s (fences %v), want %s (fences %v)", v, v.fences(), tt.want, tt.fences)
			}
			// Witnesses never reached lately (a closed port): silence
			// from all of them proves nothing.
			if len(tt.silences) == 0 && tt.known > 0 {
				if v := decide(tt.known, nil, mine, false); v != unverified || v.fences() {
					t.Errorf("no answer and none lately: decide = %s (fences %v), want %s", v, v.fences(), unverified)
				}
			}
		})
	}
}

// TestContactSilence: the silence counts from the latest acknowledged
// send, never from an older one acknowledged later.
func TestContactSilence(t *testing.T) {
	var c contact
	if c.silence() >= 0 {
		t.Fatalf("silence before any ack = %s, want negative", c.silence())
	}
	now := time.Now()
	c.ack(now.Add(-2 * time.Second))
	c.ack(now.Add(-5 * time.Second)) // an older request answered late
	if s := c.silence(); s < 2*time.Second || s > 3*time.Second {
		t.Errorf("silence = %s, want about 2s", s)
	}
}

// TestFenceStopsOnlyWhatMoves: fencing stops the containers the server
// would run elsewhere (FenceOnLoss), leaves the others running, keeps the
// fenced ones stopped (no autorestart), and the server's next assignments
// start them again.
func TestFenceStopsOnlyWhatMoves(t *testing.T) {
	drv := fake.New()
	binds, err := newBindPolicy("h", nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{drv}}, log: slog.New(slog.DiscardHandler), binds: binds}
	a.rep = newReporter(a)
	a.exec = newExecutor(a)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a.exec.adopt(ctx)
	go a.exec.run(ctx)

	asg := &api.Assignments{Containers: []api.Container{
		{Meta: api.Meta{ID: "moves", Name: "web-1"}, Spec: api.ContainerSpec{Service: "s", Slot: 1, Command: []string{"serve"},
			Desired: api.ContainerRunning, Autorestart: api.PolicyAlways, FenceOnLoss: true}},
		{Meta: api.Meta{ID: "stays", Name: "agent-1"}, Spec: api.ContainerSpec{Service: "e", Slot: 1, Command: []string{"serve"},
			Desired: api.ContainerRunning, Autorestart: api.PolicyAlways}},
	}}
	a.exec.setAssignments(asg)
	waitFor(t, "both running", func() bool { return a.exec.running() == 2 })
	if !a.exec.hasFenceable() {
		t.Fatal("hasFenceable = false with a FenceOnLoss container running")
	}

	a.exec.fence()
	waitFor(t, "the FenceOnLoss container stopped", func() bool { return !a.exec.isRunning("moves") })
	if !a.exec.isRunning("stays") {
		t.Error("fencing stopped a container the server does not move")
	}
	time.Sleep(3 * restartMin) // autorestart would have started it by now
	if a.exec.isRunning("moves") {
		t.Error("a fenced container was restarted")
	}
	if a.exec.hasFenceable() || !a.exec.isFenced() {
		t.Errorf("after fencing: hasFenceable %v, isFenced %v", a.exec.hasFenceable(), a.exec.isFenced())
	}

	a.exec.setAssignments(asg) // the server is heard again and still wants it here
	waitFor(t, "the fenced container running again", func() bool { return a.exec.isRunning("moves") })
	if a.exec.isFenced() {
		t.Error("still fenced after the server's assignments")
	}
}

func (e *executor) isRunning(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.ctrs[id]
	return k != nil && k.running
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFenceLoop is the agent's behaviour when it has not heard the server
// for longer than the fence time, by what its witnesses (real listeners,
// over mutual TLS) say.
func TestFenceLoop(t *testing.T) {
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	me := nodeCert(t, ca, "asker")
	// witness runs a listener for node id that says it heard the server
	// silence ago.
	stoppable := func(id string, silence time.Duration) (api.Witness, func()) {
		cert := nodeCert(t, ca, id)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		w := &witnessServer{creds: func() (*tls.Certificate, *x509.CertPool) { return &cert, ca.Pool() },
			askers: func(n string) bool { return n == "asker" }, silence: func() time.Duration { return silence },
			log: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.serve(ctx, ln) }()
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return api.Witness{Node: id, Address: ln.Addr().String()}, stop
	}
	witness := func(id string, silence time.Duration) api.Witness {
		w, _ := stoppable(id, silence)
		return w
	}
	// lost answered the probes while the server was heard, then went.
	lost, stopLost := stoppable("w6", time.Second)
	// nobody listens there.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := api.Witness{Node: "gone", Address: closed.Addr().String()}
	closed.Close()

	for _, tt := range []struct {
		name      string
		witnesses []api.Witness
		// comesBack: the one more try at the server gets through (a
		// server that was down is back, its other nodes first).
		comesBack bool
		// goes is called once the witnesses were probed while the
		// server was heard: the node is then cut off from them too.
		goes   func()
		fences bool
	}{
		{"the server is down: witnesses answer, none heard it", []api.Witness{witness("w1", 20*time.Second), witness("w2", -1), gone}, false, nil, false},
		{"cut off: a witness heard the server just now", []api.Witness{witness("w3", 20*time.Second), witness("w4", 300*time.Millisecond)}, false, nil, true},
		{"the server is back: a witness heard it, and so does this agent's one more try", []api.Witness{witness("w5", 300*time.Millisecond)}, true, nil, false},
		{"isolated: no witness answers, though it did while the server was heard", []api.Witness{lost}, false, stopLost, true},
		{"unverified: no witness ever answered (a closed port)", []api.Witness{gone}, false, nil, false},
		{"a single node: no witness", nil, false, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			drv := fake.New()
			binds, err := newBindPolicy("h", nil, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			a := &Agent{cfg: Config{Drivers: []runtime.Driver{drv}}, log: slog.New(slog.DiscardHandler), binds: binds,
				redial: make(chan struct{}, 1), ident: &identity{NodeID: "asker", cert: me, pool: ca.Pool()}}
			a.rep = newReporter(a)
			a.exec = newExecutor(a)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			a.exec.adopt(ctx)
			go a.exec.run(ctx)
			asg := &api.Assignments{FenceAfterMS: 2000, Witnesses: tt.witnesses, Containers: []api.Container{
				{Meta: api.Meta{ID: "moves", Name: "web-1"}, Spec: api.ContainerSpec{Service: "s", Slot: 1, Command: []string{"serve"},
					Desired: api.ContainerRunning, FenceOnLoss: true}}}}
			a.setFencing(asg)
			a.exec.setAssignments(asg)
			waitFor(t, "running", func() bool { return a.exec.isRunning("moves") })
			if tt.goes != nil {
				a.acked(time.Now()) // heard now: the loop probes the witnesses
				go a.fenceLoop(ctx)
				time.Sleep(fenceCheck + 500*time.Millisecond)
				tt.goes()
			} else {
				a.acked(time.Now().Add(-5 * time.Second)) // last heard 5 s ago
			}
			if tt.comesBack {
				go func() {
					select {
					case <-a.redial:
					case <-ctx.Done():
						return
					}
					for { // back: heartbeats acknowledged again
						a.acked(time.Now())
						if !sleep(ctx, 200*time.Millisecond) {
							return
						}
					}
				}()
			}
			if tt.goes == nil {
				go a.fenceLoop(ctx)
			}
			// Long enough for the silence to reach the fence time, a
			// check, the witnesses, one more try and the stop.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && a.exec.isRunning("moves") {
				time.Sleep(50 * time.Millisecond)
			}
			if fenced := !a.exec.isRunning("moves"); fenced != tt.fences {
				t.Errorf("fenced = %v, want %v", fenced, tt.fences)
			}
			if !tt.fences {
				return
			}
			// The server heard again: its next assignments start it again.
			a.acked(time.Now())
			a.exec.setAssignments(asg)
			waitFor(t, "running again", func() bool { return a.exec.isRunning("moves") })
		})
	}
}

func TestNextFenceCheck(t *testing.T) {
	w := []api.Witness{{Node: "n2"}}
	for _, tt := range []struct {
		name              string
		st                fenceState
		silence, probeDue time.Duration
		want              time.Duration
	}{
		{"fencing off", fenceState{}, 5 * time.Second, 0, fenceIdle},
		{"heard just now", fenceState{after: 6 * time.Second, witnesses: w}, 0, time.Minute, fenceIdle},
		{"fence time near", fenceState{after: 6 * time.Second, witnesses: w}, 5700 * time.Millisecond, time.Minute, 300 * time.Millisecond},
		{"probe due first", fenceState{after: 6 * time.Second, witnesses: w}, time.Second, 200 * time.Millisecond, 200 * time.Millisecond},
		{"probe overdue", fenceState{after: 6 * time.Second, witnesses: w}, time.Second, -time.Second, time.Millisecond},
		{"no witnesses: no probe", fenceState{after: 6 * time.Second}, time.Second, -time.Second, fenceIdle},
		{"never heard", fenceState{after: 6 * time.Second, witnesses: w}, -1, 0, fenceIdle},
		{"past the fence time", fenceState{after: 6 * time.Second, witnesses: w}, 7 * time.Second, time.Minute, fenceCheck},
	} {
		if got := nextFenceCheck(tt.st, tt.silence, tt.probeDue); got != tt.want {
			t.Errorf("%s: nextFenceCheck = %v, want %v", tt.name, got, tt.want)
		}
	}
}
