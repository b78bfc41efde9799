package controller

import (
	"strconv"

	"github.com/wharfhq/wharf/api"
)

// planRestart rolls `service restart` (Service.RestartGeneration) through
// the slots: while no slot is on its way down or up, it terminates the
// container of the lowest slot of an older generation. Its slot is created
// again (on the same node when it can) once the agent confirms the stop.
func (c *Services) planRestart(p *plan, bySlot map[int]*item, held map[int]bool, want int) {
	gen := p.svc.RestartGeneration
	if gen == 0 || p.restarting {
		return // nothing asked, or a slot is still stopping
	}
	stale := 0
	for slot := 1; slot <= want; slot++ {
		it := bySlot[slot]
		switch {
		case it == nil && !held[slot]:
			p.restarting = true
			return // created in this pass: wait until it runs
		case it == nil:
		case it.cur.Spec.Generation < gen:
			if stale == 0 {
				stale = slot
			}
		case it.cur.Status.State == api.ContainerPending || it.cur.Status.State == api.ContainerStarting || it.cur.Status.State == "":
			p.restarting = true
			return // a restarted slot is coming up
		}
	}
	if stale == 0 {
		return
	}
	p.restarting = true
	it := bySlot[stale]
	delete(bySlot, stale)
	held[stale] = true
	it.edit().Spec.Desired = api.ContainerTerminated
	it.event("updated", "restart: stopping slot "+strconv.Itoa(stale)+" before it runs again")
}

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
