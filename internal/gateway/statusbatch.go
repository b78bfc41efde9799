package gateway

// statusbatch.go: group commit of the agents' status reports. Reports that
// arrive while statusWriters writes are in flight wait and go out together
// in the next transaction, so a burst of reports from many nodes costs a few
// large transactions (one store revision, one watch batch each) instead of
// one per report; a lone report is written at once, as before.

import (
	"context"
	"errors"
	"sync"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// statusReq is one agent's report waiting for the group write.
type statusReq struct {
	node   string
	order  []string // container IDs, first report order
	latest map[string]api.ContainerStatus
	done   chan error // gets the outcome once
	wrote  []store.Object
}

// statusWriters is how many group writes may be in flight at once: two,
// so that one group is read and encoded while the other commits.
const statusWriters = 2

// maxWritten bounds statusBatcher.written.
const maxWritten = 8192

// statusBatcher gathers reports while writes are in flight.
type statusBatcher struct {
	g       *Gateway
	mu      sync.Mutex
	pending []*statusReq
	writers int

	// written holds the containers whose status this gateway wrote, as
	// written (with the new revision), until the watch's mirror has caught
	// up with them: an agent's next report can then start from its own
	// last write even when the watch lags (wmu guards it).
	wmu     sync.Mutex
	written map[string]*api.Container
}

// latestKnown returns the newer of the mirror's copy of container id on
// node and this gateway's last write of it. Either may be behind the
// store: writes from it compare-and-swap on its revision.
func (b *statusBatcher) latestKnown(node, id string) (api.Container, bool) {
	c, ok := b.g.assign.placed(node, id)
	b.wmu.Lock()
	w := b.written[id]
	if w != nil && ok && c.Revision >= w.Revision {
		delete(b.written, id) // the mirror has caught up
		w = nil
	}
	b.wmu.Unlock()
	if w != nil {
		return *w, true
	}
	return c, ok
}

// remember records containers just written (their Revision is the
// commit's). Past maxWritten entries, those the mirror has caught up with
// are dropped, and if that is not enough, all.
func (b *statusBatcher) remember(objs []store.Object) {
	if len(objs) == 0 {
		return
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.written == nil {
		b.written = map[string]*api.Container{}
	}
	for _, o := range objs {
		if c, ok := o.(*api.Container); ok {
			b.written[c.ID] = c
		}
	}
	if len(b.written) <= maxWritten {
		return
	}
	for id, w := range b.written {
		if c, ok := b.g.assign.placed(w.Spec.Node, id); !ok || c.Revision >= w.Revision {
			delete(b.written, id)
		}
	}
	if len(b.written) > maxWritten {
		clear(b.written)
	}
}

// submit writes an agent's reports like applyReports, in a transaction
// shared with the reports of other nodes that arrived meanwhile. It
// returns once they are written (or could not be).
func (b *statusBatcher) submit(ctx context.Context, node string, reports []api.ContainerReport) error {
	order, latest := lastReports(reports)
	if len(order) == 0 {
		return nil
	}
	if len(order) > reportChunk {
		// A large report (a hello's snapshot) takes its own chunks.
		return b.g.applyReports(ctx, node, reports)
	}
	req := &statusReq{node: node, order: order, latest: latest, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, req)
	start := b.writers < statusWriters
	if start {
		b.writers++
	}
	b.mu.Unlock()
	if start {
		go b.drain()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain writes pending reports, a group at a time, until none is left.
func (b *statusBatcher) drain() {
	for {
		b.mu.Lock()
		group, rest := takeGroup(b.pending)
		b.pending = rest
		if len(group) == 0 {
			b.writers--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.write(group)
	}
}

// takeGroup splits off the first requests that fit one transaction and
// name no container twice (a transaction may not write a key twice).
func takeGroup(pending []*statusReq) (group, rest []*statusReq) {
	seen := map[string]bool{}
	n := 0
	for i, r := range pending {
		clash := false
		for _, id := range r.order {
			if seen[id] {
				clash = true
				break
			}
		}
		if i > 0 && (clash || n+len(r.order) > reportChunk) {
			return pending[:i], pending[i:]
		}
		for _, id := range r.order {
			seen[id] = true
		}
		n += len(r.order)
	}
	return pending, nil
}

// write commits a group in one transaction, starting from the watch's
// mirror. A request with a container the mirror does not have, or whose
// report the mirror would drop, is written on its own from fresh reads
// (as applyReports does), and so is every request of the group if the
// mirror was behind (the compare-and-swap fails).
func (b *statusBatcher) write(group []*statusReq) {
	ctx := context.Background()
	g := b.g
	if len(group) == 1 {
		r := group[0]
		r.done <- g.applyLatest(ctx, r.node, r.order, r.latest)
		return
	}
	t := g.store.Txn()
	var joined, alone []*statusReq
	for _, r := range group {
		var rec recordedWrites
		label := g.nodeLabel(r.node)
		mirrored := true
		for _, id := range r.order {
			c, ok := b.latestKnown(r.node, id)
			if !ok || !g.applyOne(ctx, &rec, r.node, label, &c, r.latest[id]) {
				mirrored = false
				break
			}
		}
		if !mirrored {
			alone = append(alone, r)
			continue
		}
		rec.replay(t)
		r.wrote = rec.objs
		joined = append(joined, r)
	}
	if len(joined) > 0 {
		err := t.Commit(ctx)
		if err == nil {
			for _, r := range joined {
				b.remember(r.wrote)
			}
		}
		if err == nil || !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			for _, r := range joined {
				r.done <- err
			}
		} else {
			alone = append(alone, joined...)
		}
	}
	for _, r := range alone {
		r.done <- g.applyLatest(ctx, r.node, r.order, r.latest)
	}
}

// recordedWrites holds one request's writes until it is known that all of
// its containers could be decided from the mirror (applyOne writes
// containers only).
type recordedWrites struct {
	objs   []store.Object
	events []api.Event
}

func (w *recordedWrites) Update(_ string, obj store.Object) { w.objs = append(w.objs, obj) }
func (w *recordedWrites) Emit(events ...api.Event)          { w.events = append(w.events, events...) }

// replay queues the recorded writes in t.
func (w *recordedWrites) replay(t *store.Txn) {
	for _, o := range w.objs {
		t.Update(store.KindContainers, o)
	}
	t.Emit(w.events...)
}
