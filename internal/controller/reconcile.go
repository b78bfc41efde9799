package controller

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// item is one container of a service during a pass.
type item struct {
	orig   *api.Container // as cached; nil when created in this pass
	cur    *api.Container // orig, or the copy to write
	create bool
	update bool
	del    bool
	events []api.Event
	// unplaced is why the scheduler left it without a node in this pass.
	unplaced string
	// addrs are the address records to create with it (a new container
	// of a slot that had none on some network).
	addrs []*api.AddressRecord
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
		Kind: "container", Object: ct.ID, Org: ct.Org, Name: ct.Name, Type: typ,
		State: string(ct.Status.State), Message: msg,
	})
}

// amendCreated adds what to the message of the item's "created" event:
// a container placed as it is created gets one event that says both.
func (it *item) amendCreated(what string) {
	for i := range it.events {
		if e := &it.events[i]; e.Type == "created" {
			if e.Message != "" {
				what += "; " + e.Message
			}
			e.Message = what
			return
		}
	}
	it.event("placed", what)
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
	// drains are the slots whose container on a draining node waits
	// for its replacement (repl, nil when none could be made yet).
	drains []drainSlot
	// wanted: the slots the service should run (nil when it is
	// terminating or gone).
	wanted map[int]bool
	// Addresses (addresses.go): netHeld counts slots left without a
	// container for want of an address, netUnmet says why; retry asks
	// for another pass after a transient failure; release are the
	// records to delete.
	netHeld  int
	netUnmet []string
	retry    bool
	release  []*api.AddressRecord
}

// drainSlot is a slot being moved off a draining node.
type drainSlot struct{ old, repl *item }

// pass reconciles every dirty service: it plans each, places all new and
// unplaced containers in one scheduler call, then commits everything in
// batched transactions. The order of the reconcilers is fixed (see the
// package comment): the reaper's node-loss clock, the plans (slots, with
// autodestroy, the reaper and rollouts per container), the commit, then
// the reaper's drained nodes and the rollout reconciler's cleanup.
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
	c.alloc = newPassAlloc(ctx)

	plans := make([]*plan, 0, len(ids))
	for _, id := range ids {
		if p := c.plan(id); p != nil {
			plans = append(plans, p)
		}
	}
	for _, p := range plans {
		if p.netHeld > 0 {
			c.netWait[p.id] = true
		} else {
			delete(c.netWait, p.id)
		}
		if p.retry {
			c.dirty[p.id] = true
			c.notBefore = time.Now().Add(c.retry)
		}
	}
	c.slots().place(plans)
	for _, p := range plans {
		c.reaper().noteDrains(p)
	}
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
	if svc == nil && len(conts) == 0 && len(c.cache.addrsBySvc[id]) == 0 {
		delete(c.netWait, id)
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
		c.slots().planRun(p)
	}
	c.addresses().release(p)
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
