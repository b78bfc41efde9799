package controller

import (
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
)

// exitedForGood: autodestroy applies to the container: it exited (an exit
// code is known), its agent will not restart it (lifecycle.RestartWanted,
// the policy the agent applies) and its autodestroy policy takes the exit.
func exitedForGood(ct *api.Container) bool {
	st := ct.Status
	if st.State != api.ContainerStopped || st.ExitCode == nil {
		return false
	}
	if lifecycle.RestartWanted(ct.Spec.Autorestart, *st.ExitCode) {
		return false
	}
	switch ct.Spec.Autodestroy {
	case api.PolicyAlways:
		return true
	case api.PolicyOnSuccess:
		return *st.ExitCode == 0
	}
	return false
}
