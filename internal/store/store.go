// Package store is Wharf's typed layer over etcd: objects are JSON values
// under /wharf/<kind>/<id>, every update is a compare-and-swap on the key's
// revision, many writes go out in one transaction, and a watch resumes from
// any revision. It knows nothing of HTTP, agents or scheduling, and it never
// retries a conflict on its own: callers decide.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Kinds of stored objects; each is a key prefix.
const (
	KindNodes      = "nodes"
	KindServices   = "services"
	KindStacks     = "stacks"
	KindContainers = "containers"
	KindTokens     = "tokens"
	KindActions    = "actions"
	KindEvents     = "events"
	KindJoinTokens = "jointokens"
	KindOrgs       = "orgs"
	KindUsers      = "users"
	KindTeams      = "teams"
	KindSecrets    = "secrets" // records.Secret: sealed values, never on the wire
	// KindRegistryAuths are records.RegistryAuth: organizations' registry
	// credentials, passwords sealed, never on the wire.
	KindRegistryAuths = "registryauths"
	KindNames         = "names"     // name index: names/<kind>.<name> -> ID
	KindNetworks      = "networks"  // api.Network; ID "<org>.<name>"
	KindVNIs          = "vnis"      // netalloc's claim of a VXLAN ID: vnis/<vni> -> network ID
	KindAddresses     = "addresses" // api.AddressRecord; ID "<network ID>.<address>"
	KindCluster       = "cluster"   // single documents, such as the CA
	// KindACME are records.ACMEEntry: organizations' ACME cache (the
	// routers' certificates and keys), values sealed, never on the wire.
	KindACME = "acme"
	// KindSignInCodes are records.SignInCode: the dashboard's one-time
	// sign-in codes (their hashes), each living a minute.
	KindSignInCodes = "signincodes"
)

// MaxOps is the most operations one transaction may carry. The embedded etcd
// is configured to accept this many; an external etcd must be started with
// --max-txn-ops of at least this value.
const MaxOps = 1024

// The store's error vocabulary. Callers decide with errors.Is. ErrNotFound
// counts as errdefs.ErrNotFound, ErrExists and ErrConflict as
// errdefs.ErrConflict, so that the edges map them without knowing the store.
var (
	ErrNotFound = errdefs.New(errdefs.ErrNotFound, "not found")
	ErrExists   = errdefs.New(errdefs.ErrConflict, "already exists")
	// ErrConflict means the object changed since the revision the caller
	// read: re-read and try again.
	ErrConflict = errdefs.New(errdefs.ErrConflict, "revision conflict: the object changed since it was read")
	// ErrCompacted means a watch asked for a revision etcd no longer keeps:
	// list again and watch from the list's revision.
	ErrCompacted = errors.New("revision compacted")
	// ErrTooManyOps means a transaction exceeded MaxOps.
	ErrTooManyOps = errors.New("too many operations in one transaction")
	// ErrUsedUp means Txn.Use found the object's uses at its limit.
	ErrUsedUp = errors.New("use limit reached")
)

// Object is any stored object: it carries an api.Meta.
type Object interface {
	GetMeta() *api.Meta
}

// Store is the typed store. It is safe for concurrent use.
type Store struct {
	cli    *clientv3.Client
	prefix string
	events *eventLease
	// retained is the lease of what CreateExpiring writes.
	retained *eventLease
	// opTimeout bounds one operation (0: DefaultOpTimeout).
	opTimeout time.Duration
	// shared is the memo of DecodeShared.
	shared *sharedDecodes
}

// Retention is how long CreateExpiring's objects (actions) are kept;
// events are kept a day.
const Retention = 30 * 24 * time.Hour

// New wraps an etcd client. prefix is normally "/wharf".
func New(cli *clientv3.Client, prefix string) *Store {
	return &Store{cli: cli, prefix: strings.TrimSuffix(prefix, "/"),
		events: newEventLease(cli, 24*time.Hour), retained: newEventLease(cli, Retention), shared: &sharedDecodes{}}
}

// Client returns the underlying etcd client (for health checks).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Key is the etcd key of an object.
func (s *Store) Key(kind, id string) string { return s.prefix + "/" + kind + "/" + id }

func (s *Store) kindPrefix(kind string) string { return s.prefix + "/" + kind + "/" }

// Get reads one object into out and sets its Meta.Revision.
func (s *Store) Get(ctx context.Context, kind, id string, out Object) error {
	_, err := s.GetAt(ctx, kind, id, out)
	return err
}

// GetAt is Get that also returns the store's revision at the read (see
// Revision), found or not (0 when the store could not be read).
func (s *Store) GetAt(ctx context.Context, kind, id string, out Object) (int64, error) {
	if id == "" || strings.Contains(id, "/") {
		return 0, fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	octx, cancel := s.opContext(ctx)
	defer cancel()
	resp, err := s.cli.Get(octx, s.Key(kind, id))
	if err != nil {
		return 0, wrapEtcd(err)
	}
	if len(resp.Kvs) == 0 {
		return resp.Header.Revision, fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	return resp.Header.Revision, decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision, out)
}

// ListOptions pages a list: After is the last ID of the previous page, Limit
// caps the page (0 means all).
type ListOptions struct {
	// After is the cursor: the ID listing continues after, in the list's
	// order (with Reverse, the IDs that sort before it).
	After string
	Limit int
	// Reverse lists in descending ID order (newest first for the kinds
	// whose IDs sort by time, such as actions). etcd reads the whole
	// range before the cursor to sort it, so it is meant for kinds that
	// stay small or expire.
	Reverse bool
	// Revision, when set, lists the store as it was at that revision.
	Revision int64
}

// ListResult is one page of raw values, in ID order.
type ListResult struct {
	Items    []RawObject
	Revision int64 // the store revision the list was read at
	More     bool  // another page follows
}

// RawObject is a value as stored, with its revision and its etcd version
// (how many times the key was written since it was created; see Uses).
type RawObject struct {
	ID       string
	Value    []byte
	Revision int64
	Version  int64
	kind     string         // for DecodeRawShared
	shared   *sharedDecodes // the store's
}

// Decode decodes a raw object into out.
func (r RawObject) Decode(out Object) error { return decode(r.Value, r.Revision, out) }

// List reads a page of objects of one kind.
func (s *Store) List(ctx context.Context, kind string, o ListOptions) (ListResult, error) {
	p := s.kindPrefix(kind)
	start, end := p, clientv3.GetPrefixRangeEnd(p)
	order := clientv3.SortAscend
	switch {
	case o.Reverse:
		order = clientv3.SortDescend
		if o.After != "" {
			end = p + o.After // the range's end is exclusive
		}
	case o.After != "":
		start = p + o.After + "\x00"
	}
	opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithSort(clientv3.SortByKey, order)}
	if o.Limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(o.Limit)))
	}
	if o.Revision > 0 {
		opts = append(opts, clientv3.WithRev(o.Revision))
	}
	octx, cancel := s.opContext(ctx)
	defer cancel()
	resp, err := s.cli.Get(octx, start, opts...)
	if err != nil {
		return ListResult{}, wrapEtcd(err)
	}
	res := ListResult{Revision: resp.Header.Revision, More: resp.More}
	for _, kv := range resp.Kvs {
		res.Items = append(res.Items, RawObject{ID: strings.TrimPrefix(string(kv.Key), p), Value: kv.Value, Revision: kv.ModRevision, Version: kv.Version, kind: kind, shared: s.shared})
	}
	return res, nil
}

// ListAll reads every object of a kind and decodes each with newObj.
func ListAll[T any, PT interface {
	*T
	Object
}](ctx context.Context, s *Store, kind string) ([]*T, int64, error) {
	res, err := s.List(ctx, kind, ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	out := make([]*T, 0, len(res.Items))
	for _, raw := range res.Items {
		v := PT(new(T))
		if err := raw.Decode(v); err != nil {
			return nil, 0, err
		}
		out = append(out, (*T)(v))
	}
	return out, res.Revision, nil
}

// Create writes a new object; it fails with ErrExists if the ID is taken.
func (s *Store) Create(ctx context.Context, kind string, obj Object, events ...api.Event) error {
	t := s.Txn()
	t.Create(kind, obj)
	t.Emit(events...)
	return t.Commit(ctx)
}

// Update writes obj if its stored revision still equals obj's Meta.Revision;
// otherwise it fails with ErrConflict (or ErrNotFound if it is gone).
func (s *Store) Update(ctx context.Context, kind string, obj Object, events ...api.Event) error {
	t := s.Txn()
	t.Update(kind, obj)
	t.Emit(events...)
	return t.Commit(ctx)
}

// Delete removes an object. rev > 0 makes it conditional on that revision.
func (s *Store) Delete(ctx context.Context, kind, id string, rev int64, events ...api.Event) error {
	t := s.Txn()
	t.Delete(kind, id, rev)
	t.Emit(events...)
	return t.Commit(ctx)
}

// Modify reads an object, applies fn and writes it back, retrying on
// conflict up to a few times. fn may be called more than once; returning
// ErrNoChange from it skips the write.
func (s *Store) Modify(ctx context.Context, kind, id string, obj Object, fn func() ([]api.Event, error)) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = s.Get(ctx, kind, id, obj); err != nil {
			return err
		}
		events, ferr := fn()
		if errors.Is(ferr, ErrNoChange) {
			return nil
		}
		if ferr != nil {
			return ferr
		}
		err = s.Update(ctx, kind, obj, events...)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// ErrNoChange is what a Modify callback returns when there is nothing to write.
var ErrNoChange = errors.New("no change")

func decode(b []byte, rev int64, out Object) error {
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode stored object: %w", err)
	}
	out.GetMeta().Revision = rev
	return nil
}

func encode(obj Object) ([]byte, error) {
	m := obj.GetMeta()
	rev := m.Revision
	m.Revision = 0
	b, err := json.Marshal(obj)
	m.Revision = rev
	return b, err
}
