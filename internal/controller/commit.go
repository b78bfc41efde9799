package controller

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// op is one write of a pass.
type op struct {
	service string // the service it belongs to, to reconcile again on failure
	kind    string
	obj     store.Object // create or update; nil for a delete
	create  bool
	id      string // delete
	rev     int64  // delete: conditional on this revision
	events  []api.Event
	// also are address records created in the same transaction (a new
	// container's).
	also []*api.AddressRecord
}

// writes is how many store writes o makes.
func (o op) writes() int { return 1 + len(o.also) }

// finish turns a plan into writes: container creates, updates and deletes,
// then the service's status or its deletion.
func (c *Services) finish(ctx context.Context, p *plan) ([]op, error) {
	var ops []op
	for _, it := range p.items {
		switch {
		case it.del:
			ops = append(ops, op{service: p.id, kind: store.KindContainers, id: it.orig.ID, rev: it.orig.Revision, events: it.events})
		case it.create:
			ops = append(ops, op{service: p.id, kind: store.KindContainers, obj: it.cur, create: true, events: it.events, also: it.addrs})
		case it.update:
			// CAS on the cached revision: a status written meanwhile by
			// the gateway makes this fail instead of being overwritten.
			ops = append(ops, op{service: p.id, kind: store.KindContainers, obj: it.cur, events: it.events})
		}
	}
	for _, rec := range p.release {
		ops = append(ops, op{service: p.id, kind: store.KindAddresses, id: rec.ID, rev: rec.Revision})
	}
	svc := p.svc
	if svc == nil {
		return ops, nil
	}
	if p.deleteService {
		ops = append(ops, op{service: p.id, kind: store.KindServices, id: svc.ID, rev: svc.Revision, events: []api.Event{{
			Kind: "service", Object: svc.ID, Org: svc.Org, Name: svc.Name, Type: "deleted", State: string(api.ServiceTerminated),
		}}})
		idx, err := c.nameIndex(ctx, svc)
		if err != nil {
			return nil, err
		}
		if idx != nil {
			ops = append(ops, op{service: p.id, kind: store.KindNames, id: idx.ID, rev: idx.Revision})
		}
		return ops, nil
	}
	if p.rollback {
		// The rollout failed: back to the previous spec, whose rollout the
		// next pass starts.
		ops = append(ops, op{service: p.id, kind: store.KindServices, obj: rolledBack(svc, p.updMessage), events: p.events})
		return ops, nil
	}
	if s := c.serviceStatus(p); s != svc.Status || len(p.events) > 0 {
		cp := *svc
		cp.Status = s
		ops = append(ops, op{service: p.id, kind: store.KindServices, obj: &cp, events: append(statusEvents(svc, s, p.want), p.events...)})
	}
	return ops, nil
}

// nameEntry reads a name index object whatever its shape: only its
// revision and raw value matter here.
type nameEntry struct {
	api.Meta
	raw []byte
}

func (n *nameEntry) UnmarshalJSON(b []byte) error {
	n.raw = append(n.raw[:0], b...)
	return nil
}

// nameIndex returns the name index entry of svc's name in its
// organization (records.NameKey) if it exists and still points at svc
// (its value holds svc's ID), else nil.
func (c *Services) nameIndex(ctx context.Context, svc *api.Service) (*nameEntry, error) {
	e := &nameEntry{}
	id := records.NameKey(store.KindServices, svc.Org, svc.Name)
	err := c.st.Get(ctx, store.KindNames, id, e)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(e.raw, []byte(svc.ID)) {
		c.log.Warn("name index points at another service; leaving it", "name", svc.Name, "service", svc.ID)
		return nil, nil
	}
	e.ID = id
	return e, nil
}

// commitParallel is how many transactions of a pass are in flight at
// once: they hold different services' writes, so they do not depend on each
// other, and etcd commits concurrent proposals together (one log write for
// several) while the next ones are being encoded. While the rest of the
// server is busy too (pushes, status reports), a transaction spends most of
// its time waiting for its turn on a core, not for etcd: with 4 in flight,
// the 50 transactions of a 10,000-replica deploy took 3.2 s, with 16 about
// 1.8 s (see "Placement" in docs/benchmarks.md).
const commitParallel = 16

// commit writes the ops of a pass in transactions of at most MaxOps/2
// writes (plus their events), keeping each service's ops together when they
// fit, and an op with the records it creates (op.also) always. Up to
// commitParallel transactions are in flight at once; their outcomes are
// then handled in order. A failed transaction puts its services back in
// the dirty set; after a conflict the next pass waits for the watch to
// bring the newer state.
func (c *Services) commit(ctx context.Context, units [][]op) {
	const maxWrites = store.MaxOps / 2
	var batches [][]op
	var batch []op
	nwrites, nevents := 0, 0
	flush := func() {
		if len(batch) > 0 {
			batches = append(batches, batch)
		}
		batch, nwrites, nevents = nil, 0, 0
	}
	for _, u := range units {
		uwrites, uevents := 0, 0
		for _, o := range u {
			uwrites += o.writes()
			uevents += len(o.events)
		}
		if nwrites+uwrites > maxWrites || nwrites+nevents+uwrites+uevents > store.MaxOps {
			flush()
		}
		for _, o := range u {
			if nwrites+o.writes() > maxWrites || nwrites+nevents+o.writes()+len(o.events) > store.MaxOps {
				flush()
			}
			batch = append(batch, o)
			nwrites += o.writes()
			nevents += len(o.events)
		}
	}
	flush()

	revs := make([]int64, len(batches))
	errs := make([]error, len(batches))
	if len(batches) == 1 {
		revs[0], errs[0] = c.writeTxn(ctx, batches[0])
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, commitParallel)
		for i, b := range batches {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				revs[i], errs[i] = c.writeTxn(ctx, b)
			})
		}
		wg.Wait()
	}
	for i, b := range batches {
		c.committed(ctx, b, revs[i], errs[i])
	}
}

// committed handles the outcome of a batch's transaction (rev, err).
func (c *Services) committed(ctx context.Context, batch []op, rev int64, err error) {
	if err == nil {
		c.waitFor(rev)
		return
	}
	if ctx.Err() != nil {
		return
	}
	if !lostRace(err) {
		c.requeue(batch)
		c.log.Warn("reconcile write failed; retrying", "err", err, "writes", len(batch), "in", c.retry)
		c.notBefore = time.Now().Add(c.retry)
		return
	}
	// One stale object fails the whole transaction. Write each service's
	// part alone so that only the services that lost the race wait.
	groups := map[string][]op{}
	var order []string
	for _, o := range batch {
		if groups[o.service] == nil {
			order = append(order, o.service)
		}
		groups[o.service] = append(groups[o.service], o)
	}
	if len(order) == 1 {
		c.lost(batch, err)
		return
	}
	for _, id := range order {
		g := groups[id]
		if err := c.write(ctx, g); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !lostRace(err) {
				c.requeue(g)
				c.notBefore = time.Now().Add(c.retry)
				c.log.Warn("reconcile write failed; retrying", "err", err, "service", id, "in", c.retry)
				continue
			}
			c.lost(g, err)
		}
	}
}

// write commits ops in one transaction and, on success, holds the next
// pass until the watch has brought them into the cache.
func (c *Services) write(ctx context.Context, ops []op) error {
	rev, err := c.writeTxn(ctx, ops)
	if err == nil {
		c.waitFor(rev)
	}
	return err
}

// writeTxn commits ops in one transaction and returns the revision the
// next pass must wait for. It touches no controller state, so that several
// may run at once.
func (c *Services) writeTxn(ctx context.Context, ops []op) (int64, error) {
	t := c.st.Txn()
	for _, o := range ops {
		switch {
		case o.obj == nil:
			t.Delete(o.kind, o.id, o.rev)
		case o.create:
			t.Create(o.kind, o.obj)
			for _, rec := range o.also {
				t.Create(store.KindAddresses, rec)
			}
		default:
			t.Update(o.kind, o.obj)
		}
		t.Emit(o.events...)
	}
	if err := t.Commit(ctx); err != nil {
		return 0, err
	}
	var rev int64
	for _, o := range ops {
		if o.obj != nil {
			rev = max(rev, o.obj.GetMeta().Revision)
		}
	}
	if rev == 0 {
		// Only deletes: their revision is unknown, but newer than anything
		// cached. Acting on a cache that misses some of them is harmless:
		// a delete repeated fails, it cannot happen twice.
		rev = c.cache.rev + 1
	}
	return rev, nil
}

// lostRace: someone wrote after our read (the watch will bring it).
func lostRace(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists)
}

// lost requeues the services of ops that lost a race, and holds the next
// pass until the watch shows something newer than the cache: reconciling
// before that would only repeat the same stale writes.
func (c *Services) lost(ops []op, err error) {
	c.requeue(ops)
	c.log.Debug("reconcile lost a race; waiting for the watch", "err", err, "writes", len(ops))
	c.waitFor(c.cache.rev + 1)
}

func (c *Services) requeue(ops []op) {
	for _, o := range ops {
		c.dirty[o.service] = true
	}
}
