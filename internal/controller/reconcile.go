package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// item is one container of a service during a pass.
type item struct {
	orig   *api.Container // as cached; nil when created in this pass
	cur    *api.Container // orig, or the copy to write
	create bool
	update bool
	del    bool
	events []api.Event
}

// edit returns the container to change, copying the cached one first.
func (it *item) edit() *api.Container {
	if it.cur == it.orig {
		cp := *it.orig
		it.cur = &cp
		it.update = true
	}
	return it.cur
}

func (it *item) event(typ, msg string) {
	ct := it.cur
	it.events = append(it.events, api.Event{
		Kind: "container", Object: ct.ID, Name: ct.Name, Type: typ,
		State: string(ct.Status.State), Message: msg,
	})
}

// plan is what one pass decides for one service ID.
type plan struct {
	id       string
	svc      *api.Service // nil when only orphaned containers remain
	items    []*item
	requests []*item         // to place
	pending  map[string]bool // distinct reasons some requests stay unplaced
	// deleteService: the service is terminating and has no container left.
	deleteService bool
	// destroyed counts slots autodestroy left empty; restarting says a
	// `service restart` is rolling through the slots.
	destroyed  int
	restarting bool
	// want: how many slots the service should run (Spec.Replicas, or the
	// eligible nodes of an EVERY_NODE service); every: it is EVERY_NODE.
	want     int
	every    bool
	stopping int // slots a rollout stopped that are not gone yet
	// Dependencies (deps.go): depsUnmet are the reasons they do not hold,
	// once depsChecked; depsHeld counts slots they kept from starting.
	depsChecked bool
	depsUnmet   []string
	depsHeld    int
	// A rollout's outcome for the service's status: rollback asks to swap
	// Spec with PreviousSpec; update* are the new Status.Update* (empty:
	// unchanged).
	rollback   bool
	updState   string
	updMessage string
	events     []api.Event
}

// pass reconciles every dirty service: it plans each, places all new and
// unplaced containers in one scheduler call, then commits everything in
// batched transactions.
func (c *Services) pass(ctx context.Context) {
	c.lossAt = c.reaper().trackDown(time.Now())
	c.commit(ctx, c.decide(ctx))
	c.reaper().reapNodes(ctx)
	c.rollout().cleanReady()
}

// decide plans the dirty services and returns their writes, one unit per
// service.
func (c *Services) decide(ctx context.Context) [][]op {
	ids := make([]string, 0, len(c.dirty))
	for id := range c.dirty {
		if id != reapKey {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	c.dirty = map[string]bool{}

	plans := make([]*plan, 0, len(ids))
	for _, id := range ids {
		if p := c.plan(id); p != nil {
			plans = append(plans, p)
		}
	}
	c.place(plans)
	var units [][]op
	for _, p := range plans {
		ops, err := c.finish(ctx, p)
		if err != nil {
			c.log.Warn("reconcile service", "service", p.id, "err", err)
			c.dirty[p.id] = true
			c.notBefore = time.Now().Add(c.retry)
			continue
		}
		if len(ops) > 0 {
			units = append(units, ops)
		}
	}
	return units
}

func (c *Services) plan(id string) *plan {
	svc := c.cache.services[id]
	conts := c.cache.byService[id]
	if svc == nil && len(conts) == 0 {
		return nil
	}
	p := &plan{id: id, svc: svc}
	for _, ct := range conts {
		p.items = append(p.items, &item{orig: ct, cur: ct})
	}
	slices.SortFunc(p.items, func(a, b *item) int { return compareContainers(a.orig, b.orig) })
	if svc != nil {
		p.want = max(svc.Spec.Replicas, 0)
	}
	if svc == nil || svc.Terminating {
		c.reaper().planTerminate(p)
	} else {
		c.planRun(p)
	}
	return p
}

// compareContainers orders by slot, then age, then ID.
func compareContainers(a, b *api.Container) int {
	if a.Spec.Slot != b.Spec.Slot {
		return a.Spec.Slot - b.Spec.Slot
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// planRun converges a live service: one container per slot 1..Replicas,
// desired Running or Stopped as the service is, the rest terminated. Slots
// on a node lost for the grace are replaced; slots that autodestroy emptied
// stay empty while the service runs; a restart replaces one slot at a time.
func (c *Services) planRun(p *plan) {
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
	// inRange: the container's slot is wanted (and, for EVERY_NODE, on the
	// node that slot belongs to).
	inRange := func(ct *api.Container) bool {
		return wanted[ct.Spec.Slot] && (nodeOf == nil || nodeOf[ct.Spec.Slot] == ct.Spec.Node)
	}
	bySlot := map[int]*item{}
	draining := map[int]*item{}  // a slot's container on a Terminating node
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
			}
		case c.reaper().nodeLost(o):
			// Its node is gone: drop it; its slot is created again below.
			it.del = true
			it.event("deleted", "node "+o.Spec.Node+" is gone")
		case p.every && o.Spec.Desired != api.ContainerTerminated && c.reaper().nodeDown(o):
			// Kept, desired Terminated, so that the agent stops it if
			// the node returns; EVERY_NODE does not run it elsewhere.
			it.edit().Spec.Desired = api.ContainerTerminated
			it.event("updated", "node "+c.nodeName(o.Spec.Node)+" unreachable for "+c.lossGrace.String()+": no longer runs this EVERY_NODE service")
		case !inRange(o):
			c.reaper().terminate(it)
		case o.Spec.Desired == api.ContainerRunning && c.reaper().nodeDown(o):
			it.edit().Spec.Desired = api.ContainerTerminated
			it.event("updated", "node "+c.nodeName(o.Spec.Node)+" unreachable for "+c.lossGrace.String()+": slot replaced on another node")
		case c.autodestroy().applies(p, o):
			c.autodestroy().destroy(p, it, held)
		case c.reaper().onTerminatingNode(o):
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
	coming := svc.Spec.Sequential && c.rollout().comingUp(bySlot)
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
			it = c.newContainer(svc, slot, desired)
			coming = svc.Spec.Sequential
			if n := nodeOf[slot]; n != "" {
				it.cur.Spec.Node = n // EVERY_NODE: the slot's own node
				it.event("placed", "placed on node "+c.nodeName(n)+" (EVERY_NODE)")
			} else if n := prevNode[slot]; n != "" && c.onDeployedNode(&api.Container{Spec: api.ContainerSpec{Node: n}}) {
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
// variables of its links.
func (c *Services) newContainer(svc *api.Service, slot int, desired api.ContainerState) *item {
	driver := svc.Spec.DriverName()
	name := svc.Name + "-" + strconv.Itoa(slot)
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
	ct := &api.Container{
		Meta: api.Meta{ID: randomID(), Name: name},
		Spec: api.ContainerSpec{
			Service: svc.ID, Slot: slot, Healthcheck: hc,
			Image: svc.Spec.Image, Command: slices.Clone(svc.Spec.Command), Env: env,
			Entrypoint: slices.Clone(svc.Spec.Entrypoint), Ports: slices.Clone(svc.Spec.Ports), Resources: svc.Spec.Resources,
			Driver: driver, Desired: desired,
			Autorestart: svc.Spec.Autorestart, Autodestroy: svc.Spec.Autodestroy,
			StopAfterDisconnect: svc.Spec.StopAfterDisconnect, Generation: svc.RestartGeneration,
			Volumes: slotVolumes(svc, slot), Labels: maps.Clone(svc.Spec.Labels),
		},
		Status: api.ContainerStatus{State: api.ContainerPending},
	}
	it := &item{cur: ct, create: true}
	it.event("created", "")
	return it
}

// slotVolumes are svc's volumes for one slot: a named volume's source
// becomes "<service>-<slot>-<source>", the slot's own.
func slotVolumes(svc *api.Service, slot int) []api.VolumeMount {
	vols := slices.Clone(svc.Spec.Volumes)
	for i, v := range vols {
		if v.Type == api.VolumeNamed {
			vols[i].Source = svc.Name + "-" + strconv.Itoa(slot) + "-" + v.Source
		}
	}
	return vols
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// place runs the scheduler once for every request of the pass, so that
// services placed together spread together.
func (c *Services) place(plans []*plan) {
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
	nodes := make([]*api.Node, 0, len(c.cache.nodes))
	for _, n := range c.cache.nodes {
		nodes = append(nodes, n)
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
	res := scheduler.Place(nodes, containers, reqs, scheduler.WithServices(c.cache.services))
	for _, pl := range res.Placements {
		it := byID[pl.ContainerID]
		if it.create {
			it.cur.Spec.Node = pl.NodeID
		} else {
			it.edit().Spec.Node = pl.NodeID
		}
		it.event("placed", "placed on node "+c.nodeName(pl.NodeID))
	}
	for id, reason := range res.Unplaced {
		p := owner[id]
		if p.pending == nil {
			p.pending = map[string]bool{}
		}
		p.pending[reason] = true
	}
}

func (c *Services) nodeName(id string) string {
	n := c.cache.nodes[id]
	switch {
	case n != nil && n.Name != "":
		return n.Name + " (" + id + ")"
	case n != nil && n.Hostname != "":
		return n.Hostname + " (" + id + ")"
	}
	return id
}

func (p *plan) pendingText() string {
	reasons := slices.Sorted(maps.Keys(p.pending))
	return strings.Join(reasons, "\n")
}
