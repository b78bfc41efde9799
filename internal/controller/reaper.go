package controller

import (
	"github.com/wharfhq/wharf/api"
)

// reaper is the drain-and-reap reconciler: everything that takes
// containers, services and nodes away. It winds down terminating services
// and the orphans of deleted ones (planTerminate), terminates containers
// and deletes them once their agent confirms or cannot (terminate), drops
// the containers of removed nodes, moves slots off Terminating nodes
// (drain), replaces the running slots of a node Unreachable past the
// node-loss grace (nodeloss.go) and deletes drained nodes (reapNodes,
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

// onTerminatingNode: the container's node is being drained.
func (c reaper) onTerminatingNode(ct *api.Container) bool {
	n := c.cache.nodes[ct.Spec.Node]
	return ct.Spec.Node != "" && n != nil && n.State == api.NodeTerminating
}

// drain moves a slot off a Terminating node: the container there keeps
// running until its replacement (created and placed elsewhere like any
// missing slot) runs, then it is terminated. A slot that should not run
// needs no replacement to wait for.
func (c reaper) drain(old, repl *item, desired api.ContainerState) {
	r := repl.cur
	if desired == api.ContainerRunning && (r.Spec.Node == "" || !r.Ready()) {
		return
	}
	c.terminate(old)
}
