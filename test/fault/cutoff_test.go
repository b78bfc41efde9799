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
// node-loss grace (30 s after the last heartbeat), so its slots move.
const cut = 60 * time.Second

// TestAgentCutOff is scenario (b): under the 50-container load, one agent
// is cut off from the network (iptables drops everything in and out of its
// container) for 60 s, then healed. During the cut it is as when the agent
// is killed: its node turns Unreachable and its slots run on the other
// agents (the cut-off agent still runs its old copies; nobody can reach
// it). After healing, each slot runs exactly once over all agents within
// 30 s, and the healed agent runs no orphan: only containers the store
// wants running there.
func TestAgentCutOff(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		f := start(t, heavy, multihost.Options{})
		victim := f.Agents[0]
		lost := f.onNode(victim)
		began := time.Now()
		f.CutOff(victim)
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
		t.Logf("figure b: agent cut off for %s with %d of %d containers: node Unreachable after %s, containers running elsewhere after %s; after healing, each slot exactly once and no orphan after %s",
			secs(cut), lost, heavy.total(), secs(unreachable), secs(moved), secs(d))
	})
}
