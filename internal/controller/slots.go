package controller

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// slotReconciler is the slots reconciler: it converges a live service to
// one container per wanted slot (1..Replicas, or one per eligible node for
// EVERY_NODE, everynode.go), desired Running or Stopped as the service is.
// It decides, container by container, what each one is (planRun, asking
// the autodestroy reconciler and the reaper in the fixed precedence the
// package comment lists), calls the rollout reconciler, then
// fills the missing slots: sequential services one at a time, nothing
// while depends_on does not hold (deps.go), new containers with their
// links' variables (links.go), and places every new or unplaced container
// of the pass in one scheduler call (place). Terminations it asks for go
// through the reaper, which owns them.
type slotReconciler struct{ *Services }

// slots returns the slots reconciler over c's cache.
func (c *Services) slots() slotReconciler { return slotReconciler{c} }

// wantedSlots on Services is the slots reconciler's, for the tests that
// build a bare Services.
func (c *Services) wantedSlots(p *plan) ([]int, map[int]string) { return c.slots().wantedSlots(p) }

// planRun converges a live service: one container per slot 1..Replicas,
// desired Running or Stopped as the service is, the rest terminated. Slots
// on a node lost for the grace are replaced; slots that autodestroy emptied
// stay empty while the service runs; a restart replaces one slot at a time.
func (c slotReconciler) planRun(p *plan) {
	svc := p.svc
	desired := api.ContainerStopped
	if svc.Spec.Running {
		desired = api.ContainerRunning
	}
	gen := svc.RestartGeneration
	slots, nodeOf := c.wantedSlots(p)
	p.want = len(slots)
	wanted := make(map[int]bool, len(slots))
	for _, s := range slots {
		wanted[s] = true
	}
	p.wanted = wanted
	// inRange: the container's slot is wanted (and, for EVERY_NODE, on the
	// node that slot belongs to).
	inRange := func(ct *api.Container) bool {
		return wanted[ct.Spec.Slot] && (nodeOf == nil || nodeOf[ct.Spec.Slot] == ct.Spec.Node)
	}
	bySlot := map[int]*item{}
	draining := map[int]*item{}  // a slot's container on a draining node
	held := map[int]bool{}       // slots empty on purpose: destroyed, or restarting
	prevNode := map[int]string{} // where a restarted slot ran
	replacing := map[int]*item{} // start-first: the old container of a slot being replaced
	for _, it := range p.items {
		o := it.orig
		switch {
		case c.autodestroy().emptied(p, o, inRange):
			c.autodestroy().keepEmpty(p, o, held)
		case o.Spec.Desired == api.ContainerTerminated:
			restarting := o.Spec.Generation != gen && inRange(o) && !o.Spec.Destroyed
			// Leaving a draining node stop-first: its slot waits until it is gone.
			movingOff := inRange(o) && !o.Spec.Destroyed && c.reaper().onDrainingNode(svc, o) && c.onOverlay(o)
			switch {
			case c.reaper().deletable(o) && c.reaper().onUnreachableNode(o) && (inRange(o) || p.every) && !restarting:
				// Replaced while its node is away: kept so that the agent
				// stops it when the node returns.
			case c.reaper().deletable(o):
				it.del = true
				it.event("deleted", "")
				if restarting {
					prevNode[o.Spec.Slot] = o.Spec.Node
				}
			case restarting:
				held[o.Spec.Slot] = true // stop first: the new run waits
				p.restarting = true
				p.stopping++
			case movingOff:
				held[o.Spec.Slot] = true
			}
		case c.reaper().nodeLost(o):
			c.reaper().dropLost(it) // its slot is created again below
		case p.every && o.Spec.Desired != api.ContainerTerminated && c.reaper().nodeDown(o):
			c.reaper().leaveDownNode(it)
		case !inRange(o) && p.every:
			c.reaper().leaveIneligible(p, it)
		case !inRange(o):
			c.reaper().terminate(it)
		case o.Spec.Desired == api.ContainerRunning && reschedules(svc) && c.reaper().nodeDown(o):
			c.reaper().replaceOnDownNode(it) // its slot is created again below
		case c.autodestroy().applies(p, o):
			c.autodestroy().destroy(p, it, held)
		case !p.every && c.reaper().brokenPlacement(svc, o) != "":
			c.reaper().moveOff(it, c.reaper().brokenPlacement(svc, o)) // its slot is created again below
		case c.reaper().onDrainingNode(svc, o) && c.onOverlay(o) && o.Spec.Desired == api.ContainerRunning:
			c.reaper().moveOffFirst(it, held)
		case c.reaper().onDrainingNode(svc, o):
			if draining[o.Spec.Slot] != nil {
				c.reaper().terminate(it)
				continue
			}
			draining[o.Spec.Slot] = it
		default:
			prev := bySlot[o.Spec.Slot]
			if prev == nil {
				bySlot[o.Spec.Slot] = it
				continue
			}
			keep, drop := prev, it
			if preferred(it.orig, prev.orig, gen) {
				keep, drop = it, prev
			}
			bySlot[o.Spec.Slot] = keep
			if keep.orig.Spec.Generation == gen && drop.orig.Spec.Generation != gen && replacing[o.Spec.Slot] == nil &&
				drop.orig.Spec.Desired == api.ContainerRunning && svc.Spec.Running {
				replacing[o.Spec.Slot] = drop // start first: it runs until its replacement is done
				continue
			}
			c.reaper().terminate(drop)
		}
	}
	if svc.Spec.Running {
		c.rollout().planRollout(p, bySlot, replacing, held, slots)
	}
	coming := svc.Spec.Sequential && c.comingUp(bySlot)
	replOf := map[int]*item{} // the replacement of a draining slot
	defer func() {
		for _, slot := range slices.Sorted(maps.Keys(draining)) {
			if old := draining[slot]; desired == api.ContainerRunning && old.cur.Spec.Desired != api.ContainerTerminated {
				p.drains = append(p.drains, drainSlot{old, replOf[slot]})
			}
		}
	}()
	for _, slot := range slots {
		if held[slot] && bySlot[slot] == nil {
			continue
		}
		it := bySlot[slot]
		if it == nil && coming && desired == api.ContainerRunning {
			continue // sequential: the slot before is not ready yet
		}
		if (it == nil || it.cur.Spec.Desired == api.ContainerStopped) && desired == api.ContainerRunning && !c.depsHold(p) {
			p.depsHeld++ // depends_on: nothing starts until the dependencies hold
			continue
		}
		if it == nil {
			if it = c.newContainer(p, slot, desired); it == nil {
				continue // no address: p.pending says why
			}
			coming = svc.Spec.Sequential
			if n := nodeOf[slot]; n != "" {
				it.cur.Spec.Node = n // EVERY_NODE: the slot's own node
				it.event("placed", "placed on node "+c.nodeName(n)+" (EVERY_NODE)")
			} else if n := prevNode[slot]; n != "" && c.onActiveNode(n) {
				it.cur.Spec.Node = n // a restart keeps its node when it can
				it.event("placed", "placed on node "+c.nodeName(n)+" (restart)")
			}
			p.items = append(p.items, it)
		} else if it.cur.Spec.Desired != desired {
			it.edit().Spec.Desired = desired
			it.event("updated", "desired "+string(desired))
		}
		if desired == api.ContainerRunning && it.cur.Spec.Node == "" {
			p.requests = append(p.requests, it)
		}
		if old := draining[slot]; old != nil {
			replOf[slot] = it
			c.reaper().drain(old, it, desired)
		}
		if old := replacing[slot]; old != nil && (c.rollout().done(p, it.cur) || !svc.Spec.Running) {
			c.reaper().terminate(old)
		}
	}
	for slot, old := range replacing {
		if !wanted[slot] {
			c.reaper().terminate(old)
		}
	}
}

// comingUp: some slot's container is on its way to ready (sequential
// deployment waits for it).
func (c slotReconciler) comingUp(bySlot map[int]*item) bool {
	for _, it := range bySlot {
		if it.cur.Spec.Desired == api.ContainerRunning && !it.cur.Ready() && !failedRun(it.cur) {
			return true
		}
	}
	return false
}

// better picks which of two containers claiming one slot to keep: a placed
// one, then a running one, then the older.
func better(a, b *api.Container) bool {
	if (a.Spec.Node != "") != (b.Spec.Node != "") {
		return a.Spec.Node != ""
	}
	ar, br := a.Status.State == api.ContainerRunning, b.Status.State == api.ContainerRunning
	if ar != br {
		return ar
	}
	return compareContainers(a, b) < 0
}

// preferred picks which of two containers claiming one slot to keep: one of
// the service's generation, then the better one.
func preferred(a, b *api.Container, gen int) bool {
	if (a.Spec.Generation == gen) != (b.Spec.Generation == gen) {
		return a.Spec.Generation == gen
	}
	return better(a, b)
}

// newContainer makes slot's container from the service's spec, with the
// variables of its links and the slot's addresses; nil when a network
// cannot give it one (the reason is in p.pending).
func (c slotReconciler) newContainer(p *plan, slot int, desired api.ContainerState) *item {
	svc := p.svc
	driver := svc.Spec.DriverName()
	name := containerName(svc, slot)
	nets, addrs, ok := c.addresses().attach(p, slot, name)
	if !ok {
		return nil
	}
	env := c.linkEnv(svc, name)
	maps.Copy(env, svc.Spec.Env)
	if len(env) == 0 {
		env = nil
	}
	var hc *api.Healthcheck
	if h := svc.Spec.Healthcheck; h != nil {
		cp := *h
		cp.Command = slices.Clone(h.Command)
		hc = &cp
	}
	ports, drainMS := routedContainer(svc.Spec)
	ct := &api.Container{
		Meta: api.Meta{ID: c.newContainerID(svc), Name: name, Org: svc.Org},
		Spec: api.ContainerSpec{
			Service: svc.ID, Slot: slot, Healthcheck: hc,
			Image: svc.RunImage(), PullPolicy: svc.Spec.PullPolicy, Command: slices.Clone(svc.Spec.Command), Env: env,
			Entrypoint: slices.Clone(svc.Spec.Entrypoint), Ports: ports, Resources: svc.Spec.Resources, RouteDrainMS: drainMS,
			NetworkMode: svc.Spec.NetworkMode, Expose: slices.Clone(svc.Spec.Expose), PublishAll: svc.Spec.PublishAll,
			TTY: svc.Spec.TTY, Interactive: svc.Spec.Interactive,
			Driver: driver, Desired: desired,
			Autorestart: svc.Spec.Autorestart, Autodestroy: svc.Spec.Autodestroy,
			StopAfterDisconnect: svc.Spec.StopAfterDisconnect, Generation: svc.RestartGeneration,
			FenceOnLoss: movesOnNodeLoss(svc),
			Volumes:     slotVolumes(svc, slot), Labels: maps.Clone(svc.Spec.Labels),
			Secrets: slices.Clone(svc.Spec.Secrets), Networks: nets,
		},
		Status: api.ContainerStatus{State: api.ContainerPending},
	}
	it := &item{cur: ct, create: true, addrs: addrs}
	it.event("created", addressText(nets))
	return it
}

// hostPorts are the ports a container publishes on its node: every one
// but the ingress ports, which the routers listen on instead.
func hostPorts(ports []api.PortSpec) []api.PortSpec {
	var out []api.PortSpec
	for _, p := range ports {
		if p.Mode != api.PortModeIngress {
			out = append(out, p)
		}
	}
	return out
}

// addressText lists a container's addresses for its "created" event:
// "10.7.0.2 on default, 10.8.0.5 on back".
func addressText(nets []api.NetworkAttachment) string {
	parts := make([]string, len(nets))
	for i, a := range nets {
		parts[i] = a.IP + " on " + a.Name
	}
	return strings.Join(parts, ", ")
}

// slotVolumes are svc's volumes for one slot: a named volume's source
// becomes "<service>-<slot>-<source>", the slot's own.
func slotVolumes(svc *api.Service, slot int) []api.VolumeMount {
	vols := slices.Clone(svc.Spec.Volumes)
	if svc.Spec.Standalone {
		return vols // docker run -v data:/x mounts the volume named data
	}
	for i, v := range vols {
		if v.Type == api.VolumeNamed {
			vols[i].Source = svc.Name + "-" + strconv.Itoa(slot) + "-" + v.Source
		}
	}
	return vols
}

// orgName is the organization of an object with org field o ("" is the
// default organization, as in the domain layer).
func orgName(o string) string {
	if o == "" {
		return "default"
	}
	return o
}

// orgNodes are the cached nodes of organization org.
func (c slotReconciler) orgNodes(org string) []*api.Node {
	nodes := make([]*api.Node, 0, len(c.cache.nodes))
	for _, n := range c.cache.nodes {
		if orgName(n.Org) == org {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// noNodeReason is why a service of an organization without nodes stays
// pending while other organizations have some (with no node at all, the
// scheduler's "no nodes" says it).
func noNodeReason(org string) string {
	return "no node in organization " + org + ": join one with a join token made in the organization (`wharf node join-token`)"
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// place runs the scheduler once for every request of the pass, so that
// services placed together spread together.
func (c slotReconciler) place(plans []*plan) {
	var reqs []scheduler.Request
	byID := map[string]*item{}
	owner := map[string]*plan{}
	planned := map[string]bool{}
	for _, p := range plans {
		planned[p.id] = true
		for _, it := range p.requests {
			reqs = append(reqs, scheduler.Request{Container: it.cur, Service: p.svc})
			byID[it.cur.ID] = it
			owner[it.cur.ID] = p
		}
	}
	if len(reqs) == 0 {
		return
	}
	// The load as it will be after this pass: planned services count
	// their planned containers, the others what the cache holds.
	containers := make([]*api.Container, 0, len(c.cache.containers)+len(reqs))
	for _, ct := range c.cache.containers {
		if !planned[ct.Spec.Service] {
			containers = append(containers, ct)
		}
	}
	for _, p := range plans {
		for _, it := range p.items {
			if !it.del {
				containers = append(containers, it.cur)
			}
		}
	}
	// A service's containers run only on its organization's nodes: one
	// scheduler call per organization, over its nodes alone.
	byOrg := map[string][]scheduler.Request{}
	for _, r := range reqs {
		o := orgName(r.Service.Org)
		byOrg[o] = append(byOrg[o], r)
	}
	res := scheduler.Result{Unplaced: map[string]string{}}
	for _, o := range slices.Sorted(maps.Keys(byOrg)) {
		nodes := c.orgNodes(o)
		if len(nodes) == 0 && len(c.cache.nodes) > 0 {
			for _, r := range byOrg[o] {
				res.Unplaced[r.Container.ID] = noNodeReason(o)
			}
			continue
		}
		r := scheduler.Place(nodes, containers, byOrg[o], scheduler.WithServices(c.cache.services))
		res.Placements = append(res.Placements, r.Placements...)
		maps.Copy(res.Unplaced, r.Unplaced)
	}
	for _, pl := range res.Placements {
		it := byID[pl.ContainerID]
		placed := "placed on node " + c.nodeName(pl.NodeID)
		if it.create {
			// Created and placed in one write: one event says both (an
			// event is a key, a lease entry and a line for every watcher;
			// a placement wrote two of them).
			it.cur.Spec.Node = pl.NodeID
			it.amendCreated(placed)
			continue
		}
		it.edit().Spec.Node = pl.NodeID
		it.event("placed", placed)
	}
	for id, reason := range res.Unplaced {
		byID[id].unplaced = reason
		p := owner[id]
		if p.pending == nil {
			p.pending = map[string]bool{}
		}
		p.pending[reason] = true
	}
}

// containerName is the name of slot's container: "<service>-<slot>", or
// the service's own name for a standalone container (docker run --name).
func containerName(svc *api.Service, slot int) string {
	if svc.Spec.Standalone {
		return svc.Name
	}
	return svc.Name + "-" + strconv.Itoa(slot)
}

// reschedules tells whether svc's containers run again elsewhere when
// their node is down past the grace: a service's always do; a standalone
// container (docker run) only with reschedule:on-node-failure, as in
// Swarm classic.
func reschedules(svc *api.Service) bool {
	return !svc.Spec.Standalone || svc.Spec.Reschedule == api.RescheduleOnNodeFailure
}

// movesOnNodeLoss tells whether svc's containers are run elsewhere when
// their node is down past the grace (replaceOnDownNode): those its agent
// fences (api.ContainerSpec.FenceOnLoss). An EVERY_NODE service's only
// leave the lost node (leaveDownNode) and run nowhere else.
func movesOnNodeLoss(svc *api.Service) bool {
	return reschedules(svc) && svc.Spec.Strategy != api.StrategyEveryNode
}

// newContainerID is a new container's ID: random, except that a
// standalone service's container takes the service's own ID while no
// container holds it, so that the ID `docker create` returned (the
// service's) is the Wharf container's too.
func (c slotReconciler) newContainerID(svc *api.Service) string {
	if svc.Spec.Standalone && c.cache.containers[svc.ID] == nil {
		return svc.ID
	}
	return randomID()
}
