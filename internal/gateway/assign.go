package gateway

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/debounce"
	"github.com/wharfhq/wharf/internal/store"
)

const (
	// assignQuiet and assignMaxWait gather a burst of changes into one
	// push per node: a push goes out once the changes have stopped for
	// assignQuiet, or assignMaxWait after the first. While the controller
	// commits a large deploy (50 transactions over about a second), a
	// node's containers then go out in one or two pushes, not one per
	// transaction (up to ten while 10,000 replicas were placed; see
	// "Placement" in docs/benchmarks.md).
	assignQuiet   = 100 * time.Millisecond
	assignMaxWait = time.Second
	relistBackoff = 500 * time.Millisecond
)

// assigner mirrors the containers and nodes of the store and offers each
// connected node's session its full set of containers whenever that set
// changes (the session may send it as a delta: delta.go).
type assigner struct {
	g *Gateway

	mu     sync.Mutex
	ready  bool // a full list has been read
	rev    int64
	byNode map[string]map[string]*api.Container // node -> container ID -> container
	where  map[string]string                    // container ID -> node
	// specRev is, by container ID, the store revision at which the
	// mirror saw its Spec or Name (what its agent acts on) last change:
	// the version a session's deltas compare (offeredSet).
	specRev map[string]int64
	dirty   map[string]bool // nodes whose set changed, not yet pushed
	// ring is the nodes' witness listeners (witness.go); sentWitness,
	// by node, what its last push said of them.
	ring        witnessRing
	sentWitness map[string]string
}

func newAssigner(g *Gateway) *assigner {
	return &assigner{g: g, byNode: map[string]map[string]*api.Container{}, where: map[string]string{}, specRev: map[string]int64{},
		dirty: map[string]bool{}, sentWitness: map[string]string{}}
}

// run lists and watches the store until ctx ends, listing again after any
// watch error.
func (a *assigner) run(ctx context.Context) { a.g.relistLoop(ctx, "container watch", a.listAndWatch) }

// relistLoop runs listAndWatch until ctx ends, again relistBackoff after
// each time it ends with an error (a watch's end, a failed list).
func (g *Gateway) relistLoop(ctx context.Context, what string, listAndWatch func(context.Context) error) {
	for {
		err := listAndWatch(ctx)
		if ctx.Err() != nil {
			return
		}
		g.log.Warn(what+" ended; listing again", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(relistBackoff):
		}
	}
}

func (a *assigner) listAndWatch(ctx context.Context) error {
	res, err := a.g.store.List(ctx, store.KindContainers, store.ListOptions{})
	if err != nil {
		return err
	}
	nodes, err := a.g.store.List(ctx, store.KindNodes, store.ListOptions{Revision: res.Revision})
	if err != nil {
		return err
	}
	byNode := map[string]map[string]*api.Container{}
	where := map[string]string{}
	// A relist cannot tell which specs changed while no watch ran: each
	// container's last write stands for its spec's, so the next delta
	// of each session resends its containers (once).
	specRev := map[string]int64{}
	for _, raw := range res.Items {
		c, err := store.DecodeRawShared[api.Container](raw) // read only: the controller holds it too
		if err != nil {
			a.g.log.Warn("undecodable container skipped", "id", raw.ID, "err", err)
			continue
		}
		if c.Spec.Node == "" {
			continue
		}
		if byNode[c.Spec.Node] == nil {
			byNode[c.Spec.Node] = map[string]*api.Container{}
		}
		byNode[c.Spec.Node][c.ID] = c
		where[c.ID] = c.Spec.Node
		specRev[c.ID] = c.Revision
	}
	a.g.net.reset()
	for _, set := range byNode {
		for id, c := range set {
			a.g.net.container(id, c)
		}
	}
	seen := map[string]bool{}
	a.mu.Lock()
	a.ring = witnessRing{}
	a.mu.Unlock()
	for _, raw := range nodes.Items {
		var n api.Node
		if err := raw.Decode(&n); err != nil {
			continue
		}
		seen[n.ID] = true
		a.nodeChanged(&n)
		a.g.net.node(n.ID, &n)
		a.g.routes.node(n.ID, &n)
	}
	a.g.mu.Lock()
	var gone []string
	for id := range a.g.nodes {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	a.g.mu.Unlock()
	for _, id := range gone {
		// A node made after the list's revision (an agent that joined
		// and connected meanwhile) is not gone: the watch from that
		// revision brings it. Only one the store no longer has is.
		var n api.Node
		if err := a.g.store.Get(ctx, store.KindNodes, id, &n); err == nil && n.State != api.NodeTerminated {
			continue
		}
		a.g.forgetNode(id)
	}

	a.mu.Lock()
	a.byNode, a.where, a.specRev, a.rev, a.ready = byNode, where, specRev, res.Revision, true
	a.mu.Unlock()
	// After a (re)list every connected node gets its set.
	a.g.mu.Lock()
	for id := range a.g.sessions {
		a.markDirty(id)
	}
	a.g.mu.Unlock()
	a.flush()

	// Changes are pushed when their burst is over (debounce.Burst).
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	burst := debounce.Burst{Quiet: assignQuiet, Max: assignMaxWait}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := a.g.store.Watch(wctx, res.Revision, store.KindContainers, store.KindNodes)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			burst.Done()
			a.flush()
		case b, ok := <-ch:
			if !ok {
				return errors.New("store watch closed")
			}
			if b.Err != nil {
				return b.Err
			}
			if a.apply(b) {
				timer.Reset(burst.Change(time.Now()))
			}
		}
	}
}

// apply folds one watch batch in; it reports whether some node's set changed.
func (a *assigner) apply(b store.WatchBatch) bool {
	changed := false
	for _, ch := range b.Changes {
		switch ch.Kind {
		case store.KindNodes:
			if ch.Deleted {
				a.g.forgetNode(ch.ID)
				a.mu.Lock()
				ring := a.setWitness(ch.ID, "")
				delete(a.sentWitness, ch.ID)
				a.mu.Unlock()
				if ring {
					a.ringChanged()
					changed = true
				}
				changed = a.g.net.node(ch.ID, nil) || changed
				changed = a.g.routes.node(ch.ID, nil) || changed
				continue
			}
			var n api.Node
			if err := ch.Decode(&n); err == nil {
				if a.nodeChanged(&n) {
					a.ringChanged()
					changed = true
				}
				changed = a.g.net.node(n.ID, &n) || changed
				changed = a.g.routes.node(n.ID, &n) || changed
			}
		case store.KindContainers:
			if a.containerChanged(ch) {
				changed = true
			}
		}
	}
	a.mu.Lock()
	a.rev = b.Revision
	a.mu.Unlock()
	return changed
}

func (a *assigner) containerChanged(ch store.Change) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	oldNode := a.where[ch.ID]
	var old *api.Container
	if oldNode != "" {
		old = a.byNode[oldNode][ch.ID]
	}
	if ch.Deleted {
		netChanged := a.g.net.container(ch.ID, nil)
		netChanged = a.g.routes.container(nil, old) || netChanged
		if old == nil {
			return netChanged
		}
		delete(a.byNode[oldNode], ch.ID)
		delete(a.where, ch.ID)
		delete(a.specRev, ch.ID)
		a.dirty[oldNode] = true
		return true
	}
	c, err := store.DecodeShared[api.Container](ch) // read only: the controller holds it too
	if err != nil {
		a.g.log.Warn("undecodable container skipped", "id", ch.ID, "err", err)
		return false
	}
	netChanged := a.g.net.container(ch.ID, c)
	netChanged = a.g.routes.container(c, old) || netChanged
	if old != nil && oldNode != c.Spec.Node {
		delete(a.byNode[oldNode], ch.ID)
		delete(a.where, ch.ID)
		delete(a.specRev, ch.ID)
		a.dirty[oldNode] = true
	}
	if c.Spec.Node == "" {
		return old != nil || netChanged
	}
	// A status written by the agent changes nothing it must do.
	same := old != nil && oldNode == c.Spec.Node && reflect.DeepEqual(old.Spec, c.Spec) && old.Name == c.Name
	if a.byNode[c.Spec.Node] == nil {
		a.byNode[c.Spec.Node] = map[string]*api.Container{}
	}
	a.byNode[c.Spec.Node][c.ID] = c
	a.where[c.ID] = c.Spec.Node
	if same {
		return netChanged
	}
	a.specRev[c.ID] = c.Revision
	a.dirty[c.Spec.Node] = true
	return true
}

// nodeChanged updates the gateway's view of a node and closes a session
// whose certificate is no longer the node's. It reports whether the
// witness ring changed.
func (a *assigner) nodeChanged(n *api.Node) (ring bool) {
	a.g.noteState(n.ID, n.State)
	a.g.noteName(n.ID, n.Name)
	a.mu.Lock()
	ring = a.setWitness(n.ID, witnessAddr(n))
	a.mu.Unlock()
	s := a.g.session(n.ID)
	if s == nil {
		return
	}
	if !s.knows(n.CertSerial) || n.State == api.NodeTerminated {
		s.log.Info("node certificate replaced or node terminated: closing its session")
		s.close()
	}
	return ring
}

// placed returns a copy of container id as mirrored, if the mirror has it
// placed on node. The copy is as of the mirror's revision: a write that
// compares against its Meta.Revision fails if the store has moved on.
func (a *assigner) placed(node, id string) (api.Container, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.byNode[node][id]
	if c == nil {
		return api.Container{}, false
	}
	return *c, true
}

// markDirty must be called without a.mu held.
func (a *assigner) markDirty(node string) {
	a.mu.Lock()
	a.dirty[node] = true
	a.mu.Unlock()
}

// flush pushes every dirty node that has a session.
func (a *assigner) flush() {
	a.mu.Lock()
	nodes := make([]string, 0, len(a.dirty))
	for n := range a.dirty {
		nodes = append(nodes, n)
	}
	clear(a.dirty)
	rev := a.rev
	a.mu.Unlock()
	for _, n := range nodes {
		a.pushNode(n)
	}
	a.g.net.flush(rev)
	a.g.routes.flush(rev)
}

// containersOf are the mirrored containers of the services in ids.
func (a *assigner) containersOf(ids map[string]bool) []*api.Container {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*api.Container
	for _, set := range a.byNode {
		for _, c := range set {
			if ids[c.Spec.Service] {
				out = append(out, c)
			}
		}
	}
	return out
}

// pushNode offers node's current set to its session, if it has one and the
// store has been listed.
func (a *assigner) pushNode(node string) {
	s := a.g.session(node)
	if s == nil {
		return
	}
	a.mu.Lock()
	if !a.ready {
		a.mu.Unlock()
		return
	}
	set := a.build(node)
	a.mu.Unlock()
	// Secrets and credentials are of the full set: a delta carries them
	// whole, for the containers it keeps too.
	a.g.attachSecrets(set.Assignments, node)
	a.g.attachRegistryAuths(set.Assignments, node)
	s.offer(set)
}

// build is the node's full set, with its containers' spec versions; a.mu
// must be held.
func (a *assigner) build(node string) *offeredSet {
	set := a.byNode[node]
	out := &api.Assignments{Revision: a.rev, Containers: make([]api.Container, 0, len(set)), RegistryHost: a.g.cfg.RegistryHost,
		FenceAfterMS: a.g.fenceAfter()}
	out.Witnesses, out.Askers = a.ring.witnesses(node)
	a.sentWitness[node] = witnessKey(out.Witnesses, out.Askers)
	for _, c := range set {
		out.Containers = append(out.Containers, *c)
	}
	slices.SortFunc(out.Containers, func(x, y api.Container) int { return strings.Compare(x.ID, y.ID) })
	versions := make([]int64, len(out.Containers))
	for i, c := range out.Containers {
		versions[i] = a.specRev[c.ID]
	}
	return &offeredSet{Assignments: out, versions: versions}
}
