package fault

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/test/multihost"
)

// TestLossyLink is scenario (c): every agent's session goes through a link
// with 300 ms latency (±100 ms jitter) and 5% connection resets per second
// for 60 s (five minutes in the long form). No node may be marked
// Unreachable and nothing may be rescheduled: the same containers run,
// same IDs, PIDs and start times, exactly once.
func TestLossyLink(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		var link *lossyLink
		f := start(t, light, lossyOptions(t, &link))
		before, pids := f.running(t), f.workloadPIDs(t)
		window := pick(60*time.Second, 5*time.Minute)
		began := time.Now()
		link.degrade(t, 300*time.Millisecond, 100*time.Millisecond, 0.05)
		worst := map[string]string{}
		for time.Since(began) < window {
			s, err := f.states()
			if err != nil {
				t.Fatal(err)
			}
			for n, st := range s {
				if st != "Deployed" {
					worst[n] = st
				}
			}
			time.Sleep(time.Second)
		}
		link.clean()
		for n, st := range worst {
			t.Errorf("%s was %s under the lossy link", n, st)
		}
		resets, fences := 0, 0
		var worstGap time.Duration
		for _, a := range f.Agents {
			out, err := multihost.Logs(a, began)
			if err != nil {
				t.Fatal(err)
			}
			resets += strings.Count(out, "session to the gateway ended")
			fences += strings.Count(out, "fenced: stopping")
			worstGap = max(worstGap, worstSilence(out))
		}
		if fences > 0 {
			t.Errorf("%d containers fenced under the lossy link", fences)
		}
		f.noRestarts(t, before)
		f.samePIDs(t, pids)
		if err := f.exactlyOnce(f.Agents); err != nil {
			t.Error(err)
		}
		t.Logf("figure c: %s of 300±100 ms latency and 5%%/s connection resets on %d agents' sessions: %d sessions reset and resumed, worst silence an agent saw %s (from sending its last acknowledged request to the next acknowledgement), no node Unreachable, nothing fenced or rescheduled",
			secs(window), len(f.Agents), resets, secs(worstGap))
	})
}

// worstSilence is the longest silence an agent's log reports ending
// ("heard the server again" with silence_ms), zero when none.
func worstSilence(log string) time.Duration {
	var worst time.Duration
	for line := range strings.Lines(log) {
		if !strings.Contains(line, "heard the server again") {
			continue
		}
		_, rest, ok := strings.Cut(line, "silence_ms=")
		if !ok {
			continue
		}
		ms, err := strconv.Atoi(strings.TrimSpace(strings.Fields(rest + " ")[0]))
		if err == nil {
			worst = max(worst, time.Duration(ms)*time.Millisecond)
		}
	}
	return worst
}
