package fault

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/test/multihost"
)

// TestAgentKilled is scenario (a): under a load of 50 containers over 3
// services, one agent container is killed (its agent and workloads die
// with it). Its node must turn Unreachable, its containers must run on the
// other agents, and in the end every slot runs exactly once on the live
// agents, counted on the agents; no other node is disturbed.
func TestAgentKilled(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		f := start(t, heavy, multihost.Options{})
		victim := f.Agents[0]
		lost := f.onNode(victim)
		began := time.Now()
		f.KillContainer(victim)
		unreachable, moved := f.loseNode(t, victim, began)
		t.Logf("figure a: agent killed with %d of %d containers: node Unreachable after %s, its containers running elsewhere after %s",
			lost, heavy.total(), secs(unreachable), secs(moved))
	})
}

// loseNode waits, after victim was lost at began, until its node is
// Unreachable and every slot runs exactly once on the other agents, and
// checks meanwhile that no other node leaves Deployed. It returns both
// delays, counted from began.
func (f *fixture) loseNode(t *testing.T, victim string, began time.Time) (unreachable, moved time.Duration) {
	t.Helper()
	name := f.nodeName(victim)
	// Bounded by the loose promise: a lost node's containers run
	// elsewhere within a couple of minutes (defaults: 15 s + 30 s).
	_, err := multihost.Poll(150*time.Second, func() error {
		s, err := f.states()
		if err != nil {
			return err
		}
		for n, st := range s {
			if n != name && st != "Deployed" {
				t.Errorf("%s is %s while only %s was lost", n, st, name)
			}
		}
		if unreachable == 0 && s[name] == "Unreachable" {
			unreachable = time.Since(began)
		}
		if moved == 0 && f.exactlyOnce(f.others(victim)) == nil {
			moved = time.Since(began)
		}
		if unreachable == 0 || moved == 0 {
			return fmt.Errorf("%s is %s; slots on the other agents: %v", name, s[name], f.exactlyOnce(f.others(victim)))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after losing %s: %v", name, err)
	}
	if moved < unreachable {
		t.Errorf("containers ran elsewhere (%s) before their node was Unreachable (%s)", secs(moved), secs(unreachable))
	}
	return unreachable, moved
}
