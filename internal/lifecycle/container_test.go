package lifecycle

import (
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestStale(t *testing.T) {
	st := func(run int, s api.ContainerState) api.ContainerStatus {
		return api.ContainerStatus{Run: run, State: s}
	}
	for _, c := range []struct {
		report, stored api.ContainerStatus
		stale          bool
	}{
		{st(3, api.ContainerStopped), st(4, api.ContainerRunning), true}, // an older run's exit
		{st(4, api.ContainerRunning), st(4, api.ContainerStopped), true}, // back within a run
		{st(4, api.ContainerStarting), st(4, api.ContainerRunning), true},
		{st(4, api.ContainerStopping), st(4, api.ContainerTerminated), true},
		{st(4, api.ContainerRunning), st(4, api.ContainerRunning), false}, // health, ports: same state
		{st(4, api.ContainerStopped), st(4, api.ContainerRunning), false},
		{st(5, api.ContainerStarting), st(4, api.ContainerStopped), false}, // a new run
		{st(1, api.ContainerStarting), st(0, api.ContainerPending), false},
		{st(1, api.ContainerStarting), st(0, api.ContainerStopped), false},   // stored by an earlier agent
		{st(0, api.ContainerRunning), st(7, api.ContainerTerminated), false}, // no run: as before
		{st(0, api.ContainerStarting), st(7, api.ContainerRunning), false},
	} {
		if got := Stale(c.report, c.stored); got != c.stale {
			t.Errorf("Stale(%+v, stored %+v) = %v, want %v", c.report, c.stored, got, c.stale)
		}
	}
}
