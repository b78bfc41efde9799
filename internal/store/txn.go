package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
	"unsafe"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
)

// Txn batches writes into one etcd transaction: all of them happen, at one
// revision, or none does. Build it with Create, Update, Delete and Emit, then
// Commit. A Txn is not safe for concurrent use.
type Txn struct {
	s       *Store
	cmps    []clientv3.Cmp
	writes  []write
	objs    []Object // objects whose Revision is set on commit
	keys    []string // for error messages, parallel to writes
	events  []api.Event
	err     error
	created []bool
	// limits holds, for keys that Use queued, their index in keys and
	// the use limit (0: none), so that explain can tell ErrUsedUp.
	limits map[int]int64
}

// write is one queued put or delete. Commit makes etcd's ops of them at
// once: an etcd Op is about 250 bytes, and appended one by one, the slice
// of a 400-write transaction grew and was copied nine times.
type write struct {
	key, value string
	del        bool
	// keepValue: a put that leaves the value as it is (Use).
	keepValue bool
	// expiring: on the retention lease (CreateExpiring).
	expiring bool
}

// Txn starts a transaction.
func (s *Store) Txn() *Txn { return &Txn{s: s} }

// Len is the number of writes queued so far.
func (t *Txn) Len() int { return len(t.writes) + len(t.events) }

// Create queues the creation of obj; the commit fails with ErrExists if its
// key exists.
func (t *Txn) Create(kind string, obj Object) {
	m := obj.GetMeta()
	now := time.Now().UTC()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	m.UpdatedAt = now
	t.put(kind, obj, clientv3.Compare(clientv3.CreateRevision(t.s.Key(kind, m.ID)), "=", 0), true)
}

// CreateExpiring queues the creation of obj like Create, attached to the
// store's retention lease, so that etcd deletes it after Retention (the
// audit trail).
func (t *Txn) CreateExpiring(kind string, obj Object) {
	t.Create(kind, obj)
	if t.err != nil {
		return
	}
	t.writes[len(t.writes)-1].expiring = true
}

// Update queues a compare-and-swap write of obj against its Meta.Revision.
func (t *Txn) Update(kind string, obj Object) {
	m := obj.GetMeta()
	m.UpdatedAt = time.Now().UTC()
	t.put(kind, obj, clientv3.Compare(clientv3.ModRevision(t.s.Key(kind, m.ID)), "=", m.Revision), false)
}

func (t *Txn) put(kind string, obj Object, cmp clientv3.Cmp, create bool) {
	m := obj.GetMeta()
	if m.ID == "" {
		t.err = fmt.Errorf("store: %s without an ID", kind)
		return
	}
	b, err := encode(obj)
	if err != nil {
		t.err = err
		return
	}
	key := t.s.Key(kind, m.ID)
	t.cmps = append(t.cmps, cmp)
	t.keys = append(t.keys, key)
	t.created = append(t.created, create)
	// The encoding is new and nothing writes to it: its string shares its
	// bytes (etcd's OpPut copies them again).
	t.writes = append(t.writes, write{key: key, value: unsafe.String(unsafe.SliceData(b), len(b))})
	t.objs = append(t.objs, obj)
}

// Delete queues the removal of an object; rev > 0 makes it conditional.
// The commit fails with ErrNotFound if the object does not exist.
func (t *Txn) Delete(kind, id string, rev int64) {
	key := t.s.Key(kind, id)
	if rev > 0 {
		t.cmps = append(t.cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	} else {
		t.cmps = append(t.cmps, clientv3.Compare(clientv3.CreateRevision(key), ">", 0))
	}
	t.keys = append(t.keys, key)
	t.created = append(t.created, false)
	t.writes = append(t.writes, write{key: key, del: true})
	t.objs = append(t.objs, nil)
}

// Emit queues events to be written in the same transaction as the changes
// they describe, so the event stream never tells of a change that did not
// happen, nor misses one that did.
func (t *Txn) Emit(events ...api.Event) { t.events = append(t.events, events...) }

// Commit runs the transaction. On success every queued object's
// Meta.Revision is the new revision. On failure nothing was written.
func (t *Txn) Commit(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if t.Len() == 0 {
		return nil
	}
	if t.Len() > MaxOps {
		return fmt.Errorf("%w: %d > %d", ErrTooManyOps, t.Len(), MaxOps)
	}
	ctx, cancel := t.s.opContext(ctx)
	defer cancel()
	ops, err := t.etcdOps(ctx)
	if err != nil {
		return err
	}
	resp, err := t.s.cli.Txn(ctx).If(t.cmps...).Then(ops...).Commit()
	if err != nil {
		return wrapEtcd(err)
	}
	if !resp.Succeeded {
		return t.explain(ctx)
	}
	for _, o := range t.objs {
		if o != nil {
			o.GetMeta().Revision = resp.Header.Revision
		}
	}
	return nil
}

// etcdOps are the queued writes as etcd's ops, then the events' put.
func (t *Txn) etcdOps(ctx context.Context) ([]clientv3.Op, error) {
	ops := make([]clientv3.Op, 0, len(t.writes)+1)
	var lease clientv3.LeaseID
	for _, w := range t.writes {
		switch {
		case w.del:
			ops = append(ops, clientv3.OpDelete(w.key))
		case w.keepValue:
			ops = append(ops, clientv3.OpPut(w.key, "", clientv3.WithIgnoreValue()))
		case w.expiring:
			if lease == 0 {
				var err error
				if lease, err = t.s.retained.get(ctx); err != nil {
					return nil, err
				}
			}
			ops = append(ops, clientv3.OpPut(w.key, w.value, clientv3.WithLease(lease)))
		default:
			ops = append(ops, clientv3.OpPut(w.key, w.value))
		}
	}
	if len(t.events) > 0 {
		t.stampEventOrgs()
		ev, err := t.s.eventOp(ctx, t.events)
		if err != nil {
			return nil, err
		}
		ops = append(ops, ev)
	}
	return ops, nil
}

// stampEventOrgs gives an event without an organization the organization
// of the object it is about, when that object is written in this
// transaction: the event stream is filtered by organization, and most
// events describe a write beside them.
func (t *Txn) stampEventOrgs() {
	for i := range t.events {
		ev := &t.events[i]
		if ev.Org != "" {
			continue
		}
		for _, o := range t.objs {
			if o != nil && o.GetMeta().ID == ev.Object {
				ev.Org = o.GetMeta().Org
				break
			}
		}
	}
}

// explain finds which compare failed, to return the precise error.
func (t *Txn) explain(ctx context.Context) error {
	for i, key := range t.keys {
		resp, err := t.s.cli.Get(ctx, key, clientv3.WithKeysOnly())
		if err != nil {
			return wrapEtcd(err)
		}
		exists := len(resp.Kvs) > 0
		if limit, ok := t.limits[i]; ok && exists && limit > 0 && resp.Kvs[0].Version > limit {
			return fmt.Errorf("%s: %w", key, ErrUsedUp)
		}
		switch {
		case t.created[i] && exists:
			return fmt.Errorf("%s: %w", key, ErrExists)
		case !t.created[i] && !exists:
			return fmt.Errorf("%s: %w", key, ErrNotFound)
		}
	}
	return ErrConflict
}

// eventOp turns the events of one transaction into one put under
// /wharf/events/: a JSON array, in the order they were emitted, which is
// their Seq. One key per transaction, not one per event, keeps etcd's key
// index, lease and watch traffic in proportion to transactions: a placement
// of 10,000 containers writes a few dozen event keys, not 10,000. Keys sort
// by time (nanoseconds, then a random part).
func (s *Store) eventOp(ctx context.Context, events []api.Event) (clientv3.Op, error) {
	lease, err := s.events.get(ctx)
	if err != nil {
		return clientv3.Op{}, err
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	key := s.kindPrefix(KindEvents) + fmt.Sprintf("%016x%s", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	now := time.Now().UTC()
	out := make([]api.Event, len(events))
	for i, e := range events {
		if e.Time.IsZero() {
			e.Time = now
		}
		e.ID, e.Seq = 0, 0 // the revision and the index say them
		out[i] = e
	}
	b, err := jsonMarshal(out)
	if err != nil {
		return clientv3.Op{}, err
	}
	return clientv3.OpPut(key, string(b), clientv3.WithLease(lease)), nil
}
