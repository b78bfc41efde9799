package fault

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/test/multihost"
)

// healWithin is the promise: after a cut-off agent is healed, each
// slot runs exactly once within 30 s.
const healWithin = 30 * time.Second

// cut is how long the agent is cut off, in both forms: longer than the
// node-loss grace (11 s after the last heartbeat), so its slots move.
const cut = 60 * time.Second

// TestAgentCutOff is scenario (b): under the 50-container load, one agent
// is cut off from the network (iptables drops everything in and out of its
// container) for 60 s, then healed. During the cut it is as when the agent
// is killed: its node turns Unreachable and its slots run on the other
// agents. The cut-off agent fences: it stops its own copies before the
// replacements start, so that at no sampled moment does a slot run on two
// agents (sampled all through the cut, counted on the agents). After
// healing, each slot runs exactly once over all agents within 30 s, and
// the healed agent runs no orphan: only containers the store wants
// running there.
func TestAgentCutOff(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		f := start(t, heavy, multihost.Options{})
		victim := f.Agents[0]
		lost := f.onNode(victim)
		began := time.Now()
		f.CutOff(victim)
		samp := f.sampleTwice(t, victim, began)
		healed := false
		t.Cleanup(func() {
			if !healed {
				f.Heal(victim)
			}
		})
		unreachable, moved := f.loseNode(t, victim, began)
		if rest := cut - time.Since(began); rest > 0 {
			time.Sleep(rest)
		}
		fenced, samples := samp.stop()
		if fenced == 0 {
			t.Errorf("the cut-off agent still ran its copies at the end of the cut")
		} else if fenced > moved {
			t.Errorf("the cut-off agent's copies were gone after %s, the replacements ran after %s", secs(fenced), secs(moved))
		}
		f.Heal(victim)
		healed = true
		healedAt := time.Now()
		d, err := multihost.Poll(120*time.Second, func() error {
			if err := f.back(healedAt, victim); err != nil {
				return err
			}
			return f.exactlyOnce(f.Agents)
		})
		if err != nil {
			t.Fatalf("after healing: %v", err)
		}
		if d > healWithin {
			t.Errorf("each slot ran exactly once %s after healing; the promise is %s", secs(d), healWithin)
		}
		t.Logf("figure b: agent cut off for %s with %d of %d containers: its copies stopped (fenced) after %s, node Unreachable after %s, containers running elsewhere after %s, no slot on two agents in %d samples; after healing, each slot exactly once and no orphan after %s",
			secs(cut), lost, heavy.total(), secs(fenced), secs(unreachable), secs(moved), samples, secs(d))
	})
}

// sampler watches, until stop, that no slot runs on two agents, and when
// the victim stopped running anything.
type sampler struct {
	done    chan struct{}
	ended   chan struct{}
	fenced  time.Duration
	samples int
}

// sampleTwice samples every agent's workloads over and over from now on:
// the other agents first, the victim last, so that a slot seen on another
// agent and then on the victim ran on both at once (the victim's copy,
// cut off, cannot have started meanwhile). A slot on two agents fails t.
func (f *fixture) sampleTwice(t *testing.T, victim string, began time.Time) *sampler {
	s := &sampler{done: make(chan struct{}), ended: make(chan struct{})}
	order := append(f.others(victim), victim)
	go func() {
		defer close(s.ended)
		for {
			select {
			case <-s.done:
				return
			default:
			}
			where := map[string]string{}
			ok := true
			for _, a := range order {
				ws, err := f.AgentWorkloads(a)
				if err != nil {
					ok = false
					break
				}
				for _, w := range ws {
					if other, dup := where[w.Name]; dup && other != a {
						t.Errorf("%s after the cut: slot %s runs on %s and %s", secs(time.Since(began)), w.Name, short(other), short(a))
					}
					where[w.Name] = a
				}
				if a == victim && len(ws) == 0 && s.fenced == 0 {
					s.fenced = time.Since(began)
				}
			}
			if ok {
				s.samples++
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return s
}

// stop ends the sampling; it returns when the victim was first seen
// running nothing (zero: never) and how many full samples were taken.
func (s *sampler) stop() (fenced time.Duration, samples int) {
	close(s.done)
	<-s.ended
	return s.fenced, s.samples
}
