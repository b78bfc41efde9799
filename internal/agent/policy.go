package agent

import "github.com/wharfhq/wharf/api"

// The autorestart policy and whether an exit is the workload's own are
// decided in internal/lifecycle (RestartWanted, OwnExit), for the agent and
// the controller alike. The backoff starts at 1s and doubles up to 30s.

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
