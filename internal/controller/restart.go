package controller

import "github.com/wharfhq/wharf/api"

// exitedForGood: autodestroy applies to the container: it exited (an exit
// code is known) and its agent will not restart it.
func exitedForGood(ct *api.Container) bool {
	st := ct.Status
	if st.State != api.ContainerStopped || st.ExitCode == nil {
		return false
	}
	ok := *st.ExitCode == 0
	switch ct.Spec.Autorestart {
	case api.PolicyAlways:
		return false
	case api.PolicyOnFailure:
		if !ok {
			return false
		}
	}
	switch ct.Spec.Autodestroy {
	case api.PolicyAlways:
		return true
	case api.PolicyOnSuccess:
		return ok
	}
	return false
}
