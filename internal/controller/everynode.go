package controller

import (
	"maps"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// wantedSlots returns the slots the service should run, sorted. For most
// services that is 1..Replicas, with a nil node map. An EVERY_NODE service
// (Spec.Replicas ignored) runs one container on every eligible node
// (scheduler.EligibleNodes): each such node owns one slot, the one its
// container already has or, for a node that has none yet, the lowest slot
// number no container of the service uses; nodeOf maps each wanted slot
// to its node. A node Unreachable for less than the node-loss grace keeps
// the slot of the container it runs. When no node is eligible, the
// scheduler's reason goes to the plan's pending reasons.
func (c slotReconciler) wantedSlots(p *plan) (slots []int, nodeOf map[int]string) {
	svc := p.svc
	if svc.Spec.Strategy != api.StrategyEveryNode {
		want := max(svc.Spec.Replicas, 0)
		slots = make([]int, want)
		for i := range slots {
			slots[i] = i + 1
		}
		return slots, nil
	}
	p.every = true
	nodes := c.orgNodes(orgName(svc.Org))
	conts := slices.Collect(maps.Values(c.cache.containers))
	eligible, reason := scheduler.EligibleNodes(nodes, conts, svc, scheduler.WithServices(c.cache.services))
	if len(nodes) == 0 && len(c.cache.nodes) > 0 {
		reason = noNodeReason(orgName(svc.Org))
	}
	if len(eligible) == 0 && svc.Spec.Running {
		if p.pending == nil {
			p.pending = map[string]bool{}
		}
		p.pending[reason] = true
	}
	keep := make(map[string]bool, len(eligible))
	for _, n := range eligible {
		keep[n.ID] = true
	}
	// A paused node keeps the container it runs (it only takes no new
	// one) if it would be eligible were it active.
	for _, n := range nodes {
		if n.Available() == api.AvailabilityPause && !keep[n.ID] && scheduler.Ineligible(asActive(n), conts, svc, scheduler.WithServices(c.cache.services)) == "" {
			keep[n.ID] = true
		}
	}
	nodeOf = map[int]string{}
	slotOf := map[string]int{}
	used := map[int]bool{}
	claim := func(o *api.Container) {
		n, s := o.Spec.Node, o.Spec.Slot
		if s < 1 || n == "" || slotOf[n] != 0 || nodeOf[s] != "" {
			return
		}
		if !keep[n] && (!c.reaper().onUnreachableNode(o) || c.reaper().nodeDown(o)) {
			return
		}
		slotOf[n], nodeOf[s] = s, n
	}
	gen := svc.RestartGeneration
	for _, it := range p.items {
		used[it.orig.Spec.Slot] = true
		if it.orig.Spec.Desired != api.ContainerTerminated {
			claim(it.orig)
		}
	}
	// Then the slots emptied on purpose that still belong to their node: a
	// stop-first restart in progress, or autodestroy.
	for _, it := range p.items {
		o := it.orig
		if o.Spec.Desired == api.ContainerTerminated && o.Spec.Destroyed == (o.Spec.Generation == gen) {
			claim(o)
		}
	}
	next := 1
	for _, n := range eligible { // not the paused ones kept above: nothing new goes there
		if slotOf[n.ID] != 0 {
			continue
		}
		for used[next] || nodeOf[next] != "" {
			next++
		}
		slotOf[n.ID], nodeOf[next] = next, n.ID
	}
	return slices.Sorted(maps.Keys(nodeOf)), nodeOf
}

// asActive is a copy of paused node n as if it were active, to ask the
// scheduler whether it would be eligible.
func asActive(n *api.Node) *api.Node {
	cp := *n
	_, _, _ = lifecycle.SetAvailability(&cp, api.AvailabilityActive, "")
	return &cp
}
