package agent

import "github.com/wharfhq/wharf/api"

// restartWanted applies a container's autorestart policy to an exit: OFF
// (or empty) never restarts, ON_FAILURE restarts a non-zero exit (a failed
// start counts as one, code -1), ALWAYS restarts every exit. The backoff
// starts at 1s and doubles up to 30s.
func restartWanted(policy string, code int) bool {
	switch policy {
	case api.PolicyAlways:
		return true
	case api.PolicyOnFailure:
		return code != 0
	}
	return false
}

// exitCode is a status's exit code, -1 when none is known (a failed start).
func exitCode(st api.ContainerStatus) int {
	if st.ExitCode == nil {
		return -1
	}
	return *st.ExitCode
}

func policyName(p string) string {
	if p == "" {
		return api.PolicyOff
	}
	return p
}

// ownExit reports whether an exit code, as the server last heard it, is
// the workload's own: not a stop (143 and 137: SIGTERM, then SIGKILL, as
// every driver stops a container) and not unknown (-1). Only a reported own
// exit is final under OFF; a container found stopped otherwise (the agent
// stopped it on exit, the host went down) runs again when desired.
func ownExit(code int) bool {
	return code != 143 && code != 137 && code != -1
}
