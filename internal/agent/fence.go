package agent

// Self-fencing. When the server loses a node, it runs the node's
// replicated slots elsewhere (its node-loss grace after the last
// heartbeat it heard). A node that is only cut off still runs its copies;
// to keep any slot from running twice, its agent stops them first: once no
// request of its own has been acknowledged for api.Assignments.FenceAfterMS
// (counted from when it sent the last one the server acknowledged, so its
// clock runs ahead of the server's), it stops the containers marked
// api.ContainerSpec.FenceOnLoss, quickly (fenceStopTimeout, then a kill),
// and starts them again only when the server, heard again, still wants
// them there.
//
// So that a server that is down does not make every node stop everything,
// the agent first asks its witnesses (witness.go) how long ago they heard
// the server: see decide.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
)

const (
	// fenceStopTimeout is how long a fenced container gets between its
	// stop signal and the kill.
	fenceStopTimeout = 500 * time.Millisecond
	// fenceCheck is how often the agent looks at its silence once it has
	// reached the fence time without fencing (nothing to fence, already
	// fenced); fenceIdle, the longest it sleeps otherwise. Before that the
	// loop sleeps until the silence could reach the fence time or a probe
	// is due: with a heartbeat acknowledged every second, it wakes once a
	// second rather than four times (an idle agent's CPU, issue 19).
	fenceCheck = 250 * time.Millisecond
	fenceIdle  = time.Second
	// fenceRecheck is how long after a "keep running" verdict the
	// witnesses are asked again: soon, since a witness may have been
	// reconnecting itself when asked.
	fenceRecheck = time.Second
	// fenceRetry is how long the agent tries the server once more before
	// it fences (a server that just came back is heard within it).
	fenceRetry = time.Second
	// witnessProbe is how often an agent that hears the server asks its
	// witnesses anyway, to know that they can be reached; witnessValid,
	// how long an answer vouches for that.
	witnessProbe = time.Minute
	witnessValid = 5 * time.Minute
	// witnessReprobe is how soon a probe nobody answered is tried again
	// (the witnesses may not have heard of this node yet).
	witnessReprobe = 5 * time.Second
	// fenceSlack is how much more recently than this agent a witness
	// must have heard the server to show that the server is up: when the
	// server goes down, every agent loses it within about a heartbeat of
	// the others, so their silences differ by less than this.
	fenceSlack = 3 * DefaultHeartbeat
)

// verdict is what the witnesses' answers mean.
type verdict int

const (
	// alone: no witness known (a single node): keep running.
	alone verdict = iota
	// serverDown: witnesses answered, none heard the server much more
	// recently than this node: the server (not this node) is away; keep
	// running.
	serverDown
	// cutOff: a witness heard the server at least fenceSlack more
	// recently than this node: the server is up and this node is the
	// one cut off; fence.
	cutOff
	// isolated: no witness answers, though they did lately: this node is
	// cut off from everything; fence.
	isolated
	// unverified: no witness answers, and none has lately either (the
	// witness port closed between the nodes?): this node cannot tell a
	// cut from a server that is down; keep running.
	unverified
)

func (v verdict) String() string {
	return [...]string{"no witness known", "the server is down", "this node is cut off", "no witness answers",
		"no witness has answered lately: is the witness port (--witness-addr, 7445) open between the nodes?"}[v]
}

// fences reports whether the verdict is to stop the containers.
func (v verdict) fences() bool { return v == cutOff || v == isolated }

// decide reads the witnesses' answers: known is how many witnesses were
// asked, silences what those that answered said (negative: never heard
// the server), mine how long this agent has not heard it (past its fence
// time). A witness's silence is compared with this agent's, not with the
// fence time: when the server dies, every agent's silence grows from
// about the same moment, and a witness that happened to heartbeat a
// little later must not make this one fence.
//
// answered says whether a witness answered within witnessValid, while
// this agent heard the server (probed every witnessProbe).
func decide(known int, silences []time.Duration, mine time.Duration, answered bool) verdict {
	switch {
	case known == 0:
		return alone
	case len(silences) == 0 && !answered:
		return unverified
	case len(silences) == 0:
		return isolated
	}
	for _, s := range silences {
		if s >= 0 && s <= mine-fenceSlack {
			return cutOff
		}
	}
	return serverDown
}

// contact tracks when the server last acknowledged a request of this
// agent, by when the request was sent.
type contact struct {
	mu   sync.Mutex
	sent time.Time // zero: never
}

// ack records that a request sent at sent was acknowledged now; it
// returns the silence this ack ended (zero for the first).
func (c *contact) ack(sent time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ended time.Duration
	if !c.sent.IsZero() {
		ended = time.Since(c.sent)
	}
	if sent.After(c.sent) {
		c.sent = sent
	}
	return ended
}

// loudSilence is the silence worth a log line when it ends: twice the
// default heartbeat (the fault suite reads the worst one from the logs).
const loudSilence = 2 * DefaultHeartbeat

// acked records an acknowledged request sent at sent, and logs the end of
// a long silence.
func (a *Agent) acked(sent time.Time) {
	if d := a.contact.ack(sent); d >= loudSilence {
		a.log.Info("heard the server again", "silence_ms", d.Milliseconds())
	}
}

// silence is how long ago the last acknowledged request was sent
// (negative: never).
func (c *contact) silence() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent.IsZero() {
		return -1
	}
	return time.Since(c.sent)
}

// fenceState is what the latest assignments said about fencing.
type fenceState struct {
	after     time.Duration // zero: never fence
	witnesses []api.Witness
	askers    map[string]bool
}

// setFencing records the fencing part of the latest assignments.
func (a *Agent) setFencing(asg *api.Assignments) {
	st := fenceState{after: time.Duration(asg.FenceAfterMS) * time.Millisecond, witnesses: asg.Witnesses,
		askers: make(map[string]bool, len(asg.Askers))}
	for _, n := range asg.Askers {
		st.askers[n] = true
	}
	a.mu.Lock()
	a.fencing = st
	a.mu.Unlock()
}

func (a *Agent) fenceState() fenceState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fencing
}

// isAsker says whether node may ask this agent's witness listener.
func (a *Agent) isAsker(node string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fencing.askers[node]
}

// creds are the node certificate and the cluster CA, for the witnesses.
func (a *Agent) creds() (*tls.Certificate, *x509.CertPool) {
	id := a.identity()
	return &id.cert, id.pool
}

// fenceLoop watches the agent's silence until ctx ends and fences when the
// witnesses say so.
func (a *Agent) fenceLoop(ctx context.Context) {
	var said verdict = -1
	var probed time.Time // the last probe
	var probing sync.WaitGroup
	defer probing.Wait()
	var mu sync.Mutex
	var answered time.Time // a witness's last answer; guarded by mu
	wc := newWitnessClient(a.creds)
	defer wc.close()
	ask := func(ws []api.Witness) []time.Duration {
		got := wc.askAll(ctx, ws)
		if len(got) > 0 {
			mu.Lock()
			answered = time.Now()
			mu.Unlock()
		}
		return got
	}
	probeEvery := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if answered.Before(probed) {
			return witnessReprobe // the last probe went unanswered
		}
		return witnessProbe
	}
	wait := newWaiter()
	defer wait.stop()
	next := fenceCheck
	for wait.sleep(ctx, next) {
		st := a.fenceState()
		silence := a.contact.silence()
		every := probeEvery()
		if st.after > 0 && silence >= 0 && silence < st.after && len(st.witnesses) > 0 && time.Since(probed) >= every {
			probed = time.Now()
			probing.Go(func() { ask(st.witnesses) })
		}
		next = nextFenceCheck(st, silence, time.Until(probed.Add(every)))
		if st.after <= 0 || silence < st.after || a.exec.isFenced() || !a.exec.hasFenceable() {
			said = -1
			continue
		}
		got := ask(st.witnesses)
		mu.Lock()
		lately := !answered.IsZero() && time.Since(answered) < witnessValid
		mu.Unlock()
		v := decide(len(st.witnesses), got, silence, lately)
		if v.fences() {
			// One more try at the server: one that just came back (its
			// other nodes answered first) is heard within fenceRetry.
			a.kickConnect()
			if !sleep(ctx, fenceRetry) {
				return
			}
			if silence = a.contact.silence(); silence < st.after {
				continue
			}
			a.log.Warn("fencing: no word from the server; stopping the containers it would run elsewhere",
				"silence", silence.Round(time.Millisecond), "why", v.String())
			a.exec.fence()
			said = -1
			continue
		}
		if v != said {
			a.log.Warn("no word from the server, but not fencing", "silence", silence.Round(time.Millisecond), "why", v.String())
			said = v
		}
		if !sleep(ctx, fenceRecheck) {
			return
		}
	}
}

// nextFenceCheck is how long the fence loop may sleep: until the silence
// could reach the fence time (an acknowledgement meanwhile only pushes
// that later) or the next witness probe is due, at most fenceIdle (new
// assignments may turn fencing on), and fenceCheck once the silence is
// past the fence time.
func nextFenceCheck(st fenceState, silence, probeDue time.Duration) time.Duration {
	next := fenceIdle
	if st.after <= 0 {
		return next
	}
	if silence >= st.after {
		return fenceCheck
	}
	if silence >= 0 {
		next = min(next, st.after-silence)
		if len(st.witnesses) > 0 {
			next = min(next, max(probeDue, 0))
		}
	}
	return max(next, time.Millisecond)
}

// waiter sleeps on one timer, reused: the fence loop wakes every second
// for as long as the agent runs.
type waiter struct{ t *time.Timer }

func newWaiter() *waiter {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{t: t}
}

// sleep waits d, or reports false when ctx ends first.
func (w *waiter) sleep(ctx context.Context, d time.Duration) bool {
	w.t.Reset(d)
	select {
	case <-ctx.Done():
		w.t.Stop()
		return false
	case <-w.t.C:
		return true
	}
}

func (w *waiter) stop() { w.t.Stop() }

// fence stops every FenceOnLoss container and keeps them stopped until the
// server's next assignments.
func (e *executor) fence() {
	e.mu.Lock()
	e.fenced = true
	e.mu.Unlock()
	e.signal()
}

// isFenced reports whether the agent fenced since the last assignments.
func (e *executor) isFenced() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fenced
}

// hasFenceable reports whether some FenceOnLoss container runs or is
// about to.
func (e *executor) hasFenceable() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range e.ctrs {
		if k.spec.Spec.FenceOnLoss && (k.running || k.busy) && !k.cutOff {
			return true
		}
	}
	return false
}

// stopFenced stops the FenceOnLoss containers while fenced; one busy
// starting is stopped when its start ends (it signals). e.mu is held.
func (e *executor) stopFenced() {
	if !e.fenced {
		return
	}
	for _, k := range e.ctrs {
		if !k.spec.Spec.FenceOnLoss {
			continue
		}
		if !k.cutOff {
			k.cutOff = true
			e.cancelRestart(k)
		}
		if k.running && !k.busy && !k.stopping {
			e.a.log.Warn("fenced: stopping the container", "container", k.spec.Name, "id", k.id)
			e.stop(k, fenceStopTimeout)
		}
	}
}
