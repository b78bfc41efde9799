package lifecycle

import "github.com/wharfhq/wharf/api"

// RestartWanted applies a container's autorestart policy to an exit: OFF
// (or empty) never restarts, ON_FAILURE restarts a non-zero exit (a failed
// start counts as one, code -1), ALWAYS restarts every exit. The agent
// restarts by it; the controller asks it whether the agent will (an exit
// it restarts is not for good, so autodestroy waits).
func RestartWanted(policy string, code int) bool {
	switch policy {
	case api.PolicyAlways:
		return true
	case api.PolicyOnFailure:
		return code != 0
	}
	return false
}

// OwnExit reports whether a status, as the server last heard it, records
// an exit that is the workload's own: a known exit code that is not a stop
// (143 and 137: SIGTERM, then SIGKILL, as every driver stops a container)
// and not unknown (-1, or none). Only an own exit is final under OFF: a
// container found stopped otherwise (the agent stopped it on exit, the
// host went down) runs again when desired, and the controller counts it
// as coming up rather than failed.
func OwnExit(st api.ContainerStatus) bool {
	return st.ExitCode != nil && *st.ExitCode != 143 && *st.ExitCode != 137 && *st.ExitCode != -1
}
