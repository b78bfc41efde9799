package lifecycle

import "github.com/wharfhq/wharf/api"

// stateOrder places each container state within one run: a run only
// moves forward through them. An unknown state is 0, before all.
var stateOrder = map[api.ContainerState]int{
	api.ContainerPending:     1,
	api.ContainerStarting:    2,
	api.ContainerRunning:     3,
	api.ContainerStopping:    4,
	api.ContainerStopped:     5,
	api.ContainerTerminating: 6,
	api.ContainerTerminated:  7,
}

// Stale reports whether an agent's report is older than the stored status
// and must be dropped: it is of an earlier run, or of an earlier state of
// the same run (a Stopped of run 3 never overwrites run 4's Running). A
// report without a run (Run 0: an agent of an earlier version, or a run
// adopted before the assignments came) is never stale: it is taken as it
// is, as before runs were numbered.
func Stale(report, stored api.ContainerStatus) bool {
	if report.Run == 0 {
		return false
	}
	if report.Run != stored.Run {
		return report.Run < stored.Run
	}
	return stateOrder[report.State] < stateOrder[stored.State]
}
