package controller

import (
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// reaper is the drain-and-reap reconciler: everything that takes
// containers, services and nodes away. It winds down terminating services
// and the orphans of deleted ones (planTerminate), terminates containers
// and deletes them once their agent confirms or cannot (terminate), drops
// the containers of removed nodes, moves slots off draining nodes
// (Terminating, or of availability drain: drain, moveOffFirst), replaces
// the running slots of a node Unreachable past the node-loss grace
// (nodeloss.go) and deletes drained Terminating nodes (reapNodes,
// nodes.go). It works over the shared cache; its writes for a service go
// through the shared commit path with the rest of that service's plan.
type reaper struct{ *Services }

// reaper returns the drain-and-reap reconciler over c's cache.
func (c *Services) reaper() reaper { return reaper{c} }

// planTerminate winds a terminating service (or the orphaned containers of
// a deleted one) down: every container is to be Terminated and is deleted
// once its agent confirms or cannot.
func (c reaper) planTerminate(p *plan) {
	for _, it := range p.items {
		c.terminate(it)
	}
	p.deleteService = p.svc != nil && len(p.items) == 0
}

// terminate deletes a container if nothing needs to confirm its end, and
// otherwise asks its agent to stop and remove it.
func (c reaper) terminate(it *item) {
	if c.deletable(it.orig) {
		it.del = true
		it.event("deleted", "")
		return
	}
	if it.cur.Spec.Desired != api.ContainerTerminated {
		it.edit().Spec.Desired = api.ContainerTerminated
		it.event("updated", "desired Terminated")
	}
}

// deletable: the agent reported the container Terminated, or it never had a
// node, or its node cannot confirm (gone or not Deployed: an agent stops
// the containers it no longer is assigned when it returns).
func (c reaper) deletable(ct *api.Container) bool {
	if ct.Status.State == api.ContainerTerminated || ct.Spec.Node == "" {
		return true
	}
	n := c.cache.nodes[ct.Spec.Node]
	return n == nil || n.State != api.NodeDeployed
}

// nodeLost: the container's node was removed from the cluster, so the
// container will never run again.
func (c reaper) nodeLost(ct *api.Container) bool {
	if ct.Spec.Node == "" {
		return false
	}
	n := c.cache.nodes[ct.Spec.Node]
	return n == nil || n.State == api.NodeTerminated
}

// onDrainingNode: the container of svc is to move off its node, which
// is being drained: Terminating (node rm), whose every container moves, or
// of availability drain, whose containers move but a standalone one's
// (docker run) that has no reschedule:on-node-failure (docker run's
// containers stay on a node Swarm drains). EVERY_NODE containers are not
// asked: a draining node is not eligible, so leaveIneligible ends them.
func (c reaper) onDrainingNode(svc *api.Service, ct *api.Container) bool {
	n := c.cache.nodes[ct.Spec.Node]
	switch {
	case ct.Spec.Node == "" || n == nil:
		return false
	case n.State == api.NodeTerminating:
		return true
	}
	return n.Availability == api.AvailabilityDrain && reschedules(svc)
}

// drain moves a slot off a draining node (onDrainingNode): the container
// there keeps running until its replacement (created and placed elsewhere
// like any missing slot) runs, then it is terminated. A slot that should
// not run needs no replacement to wait for; one whose container holds an
// overlay address stops first instead (moveOffFirst).
func (c reaper) drain(old, repl *item, desired api.ContainerState) {
	r := repl.cur
	if desired == api.ContainerRunning && (r.Spec.Node == "" || !r.Ready()) {
		return
	}
	c.terminate(old)
}

// moveOffFirst moves a running slot off a draining node stop-first: its
// container holds an overlay address, which runs in one place at a time
// (as a start-first rollout stops such a container first), so it is
// stopped and its slot held until it is gone; then the slot starts on
// another node.
func (c reaper) moveOffFirst(it *item, held map[int]bool) {
	held[it.orig.Spec.Slot] = true
	if c.deletable(it.orig) {
		it.del = true
		it.event("deleted", "moved off draining node "+c.nodeName(it.orig.Spec.Node))
		return
	}
	it.edit().Spec.Desired = api.ContainerTerminated
	it.event("updated", "desired Terminated: moving off draining node "+c.nodeName(it.orig.Spec.Node)+", stopped first (its overlay address runs in one place at a time)")
}

// noteDrains records what p's slots on draining nodes wait for
// (Services.drainWait), after placement: for each node, one line per
// reason with the containers it holds, e.g. "web-1, web-2: cannot move:
// no other node fits: 0 of 2 nodes: ...". reapNodes writes them to the
// nodes.
func (c reaper) noteDrains(p *plan) {
	if len(p.drains) == 0 {
		delete(c.drainWait, p.id)
		return
	}
	byNode := map[string]map[string][]string{} // node, reason, container names
	for _, d := range p.drains {
		node := d.old.cur.Spec.Node
		if byNode[node] == nil {
			byNode[node] = map[string][]string{}
		}
		r := c.drainReason(p, d)
		byNode[node][r] = append(byNode[node][r], d.old.cur.Name)
	}
	out := map[string][]string{}
	for node, reasons := range byNode {
		for r, names := range reasons {
			out[node] = append(out[node], strings.Join(names, ", ")+": "+r)
		}
	}
	c.drainWait[p.id] = out
}

// drainReason is why a draining slot's container is still on its node.
func (c reaper) drainReason(p *plan, d drainSlot) string {
	r := d.repl
	switch {
	case r == nil && len(p.netUnmet) > 0:
		return "its replacement waits: " + strings.Join(p.netUnmet, "; ")
	case r == nil && len(p.depsUnmet) > 0:
		return "its replacement waits: " + strings.Join(p.depsUnmet, "; ")
	case r == nil:
		return "its replacement waits for the slot before it to be ready (sequential)"
	case r.cur.Spec.Node == "" && r.unplaced != "":
		return "cannot move: no other node fits: " + r.unplaced
	case r.cur.Spec.Node == "":
		return "cannot move: its replacement is not placed yet"
	}
	where := c.nodeName(r.cur.Spec.Node)
	st := r.cur.Status
	switch {
	case st.LastError() != "":
		return "its replacement failed on " + where + ": " + st.LastError()
	case st.State == api.ContainerRunning:
		return "its replacement runs on " + where + ", not ready yet"
	case st.State == "" || st.State == api.ContainerPending:
		return "its replacement is scheduled on " + where
	}
	return "its replacement is " + strings.ToLower(string(st.State)) + " on " + where
}

// drainText is what node id's drain waits for, one line per reason,
// sorted: the services' lines, and the containers its agent has yet to
// stop.
func (c reaper) drainText(id string) string {
	var lines, stopping []string
	for _, byNode := range c.drainWait {
		lines = append(lines, byNode[id]...)
	}
	for _, ct := range c.cache.containers {
		if ct.Spec.Node == id && ct.Spec.Desired == api.ContainerTerminated && ct.Status.State != api.ContainerTerminated {
			stopping = append(stopping, ct.Name)
		}
	}
	slices.Sort(stopping)
	if len(stopping) > 0 {
		lines = append(lines, strings.Join(stopping, ", ")+": stopping, waiting for the node's agent to confirm")
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
