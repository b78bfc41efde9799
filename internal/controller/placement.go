package controller

import (
	"maps"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// brokenPlacement returns why the node of running container o no longer
// meets the tags or hard constraints of its service (its labels changed
// under it), or "" when it does.
func (c reaper) brokenPlacement(svc *api.Service, o *api.Container) string {
	if svc == nil || o.Spec.Desired != api.ContainerRunning || o.Spec.Node == "" {
		return ""
	}
	n := c.cache.nodes[o.Spec.Node]
	if n == nil || n.State != api.NodeDeployed {
		return "" // the node-loss and drain rules handle these
	}
	return scheduler.Broken(n, svc)
}

// moveOff gives up a running container whose node no longer meets its
// service's hard rules, as SwarmKit's constraint enforcer does: kept,
// desired Terminated, while the slots reconciler creates its slot again on
// a node that meets them (or holds it pending with the scheduler's reason
// when none does).
func (c reaper) moveOff(it *item, why string) {
	it.edit().Spec.Desired = api.ContainerTerminated
	it.event("updated", "node "+c.nodeName(it.orig.Spec.Node)+" "+why+" (its labels changed): slot replaced on a node that meets the service's constraints")
}

// leaveIneligible ends an EVERY_NODE container whose node is no longer
// eligible, saying why in the event; any other container out of range is
// terminated as usual.
func (c reaper) leaveIneligible(p *plan, it *item) {
	o := it.orig
	why := ""
	if n := c.cache.nodes[o.Spec.Node]; n != nil && p.svc != nil {
		why = scheduler.Ineligible(n, slices.Collect(maps.Values(c.cache.containers)), p.svc, scheduler.WithServices(c.cache.services))
	}
	if why == "" {
		c.terminate(it)
		return
	}
	msg := "node " + c.nodeName(o.Spec.Node) + " " + why + ": no longer runs this EVERY_NODE service"
	if c.deletable(o) {
		it.del = true
		it.event("deleted", msg)
		return
	}
	if it.cur.Spec.Desired != api.ContainerTerminated {
		it.edit().Spec.Desired = api.ContainerTerminated
		it.event("updated", "desired Terminated: "+msg)
	}
}
