package controller

import (
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
)

// autodestroyReconciler is the autodestroy reconciler: a container that
// exited for good (exitedForGood) while its service runs is terminated
// with Spec.Destroyed set, and its slot stays empty until the service is
// restarted (a new generation). It needs nothing from the cache but the
// container itself; the slots reconciler asks it about each container
// before filling slots, so that a destroyed slot is not refilled.
type autodestroyReconciler struct{}

// autodestroy returns the autodestroy reconciler.
func (c *Services) autodestroy() autodestroyReconciler { return autodestroyReconciler{} }

// emptied: o is the container autodestroy left in its slot in the
// service's generation, while the service runs and the slot is wanted: the
// slot stays empty.
func (autodestroyReconciler) emptied(p *plan, o *api.Container, inRange func(*api.Container) bool) bool {
	return o.Spec.Destroyed && p.svc.Spec.Running && inRange(o) && o.Spec.Generation == p.svc.RestartGeneration
}

// keepEmpty counts a slot autodestroy emptied and holds it empty.
func (autodestroyReconciler) keepEmpty(p *plan, o *api.Container, held map[int]bool) {
	held[o.Spec.Slot] = true
	p.destroyed++
}

// applies: autodestroy takes o now: it should run, its service runs, and
// it exited for good.
func (autodestroyReconciler) applies(p *plan, o *api.Container) bool {
	return o.Spec.Desired == api.ContainerRunning && p.svc.Spec.Running && exitedForGood(o)
}

// destroy terminates it for good and leaves its slot empty.
func (a autodestroyReconciler) destroy(p *plan, it *item, held map[int]bool) {
	o := it.orig
	it.edit().Spec.Desired = api.ContainerTerminated
	it.cur.Spec.Destroyed = true
	it.event("updated", "autodestroy "+o.Spec.Autodestroy+": exited; slot left empty until the service is restarted")
	a.keepEmpty(p, o, held)
}

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
