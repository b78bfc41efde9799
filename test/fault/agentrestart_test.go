package fault

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/test/multihost"
)

// TestAgentKilledRepeatedly is scenario (e): an agent process is killed -9
// (by its host PID; nodeinit starts it again) three times (ten in the long
// form), a different agent each round. No workload restarts, nothing is
// rescheduled, and every slot still runs exactly once.
func TestAgentKilledRepeatedly(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		f := start(t, light, multihost.Options{})
		before, pids := f.running(t), f.workloadPIDs(t)
		kills := pick(3, 10)
		var worst time.Duration
		for round := 1; round <= kills; round++ {
			victim := f.Agents[(round-1)%len(f.Agents)]
			killed := time.Now()
			old := f.KillAgent(victim)
			d, err := multihost.Poll(60*time.Second, func() error {
				_, pid, err := f.Workloads(victim)
				if err != nil {
					return err
				}
				if pid == 0 || pid == old {
					return fmt.Errorf("%s: agent not restarted (pid %d, killed %d)", short(victim), pid, old)
				}
				return f.back(killed, victim)
			})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			worst = max(worst, d)
			t.Logf("round %d: agent of %s killed -9, back and its node Deployed after %s", round, short(victim), secs(d))
			if err := f.exactlyOnce(f.Agents); err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
		f.noRestarts(t, before)
		f.samePIDs(t, pids)
		t.Logf("figure e: %d agent kills -9: agent back at worst %s; no restart, no duplicate", kills, secs(worst))
	})
}
