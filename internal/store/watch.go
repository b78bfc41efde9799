package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Change is one write seen by a watch. Value is nil for a delete.
type Change struct {
	Kind     string
	ID       string
	Value    []byte
	Revision int64
	Deleted  bool
	shared   *sharedDecodes // the store's, for DecodeShared
}

// Decode decodes a change's value into out.
func (c Change) Decode(out Object) error { return decode(c.Value, c.Revision, out) }

// WatchBatch is every change of one store revision range, in order, or the
// error that ended the watch (ErrCompacted: list again).
type WatchBatch struct {
	Changes  []Change
	Revision int64
	Err      error
}

// Watch streams the changes to the given kinds after revision fromRev
// (usually the revision of a List). The channel closes when ctx ends or after
// a batch carrying Err.
func (s *Store) Watch(ctx context.Context, fromRev int64, kinds ...string) <-chan WatchBatch {
	out := make(chan WatchBatch, 16)
	if len(kinds) == 0 {
		close(out)
		return out
	}
	// One watch over the whole prefix, filtered to the kinds asked for,
	// keeps all kinds in one ordered stream.
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	go func() {
		defer close(out)
		wc := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(fromRev+1))
		for resp := range wc {
			if err := resp.Err(); err != nil {
				select {
				case out <- WatchBatch{Err: wrapWatch(err)}:
				case <-ctx.Done():
				}
				return
			}
			b := WatchBatch{Revision: resp.Header.Revision}
			for _, ev := range resp.Events {
				rest := strings.TrimPrefix(string(ev.Kv.Key), s.prefix+"/")
				kind, id, ok := strings.Cut(rest, "/")
				if !ok || !want[kind] {
					continue
				}
				c := Change{Kind: kind, ID: id, Revision: ev.Kv.ModRevision, shared: s.shared}
				if ev.Type == clientv3.EventTypeDelete {
					c.Deleted = true
				} else {
					c.Value = ev.Kv.Value
				}
				b.Changes = append(b.Changes, c)
			}
			if len(b.Changes) == 0 {
				continue
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() == nil {
			select {
			case out <- WatchBatch{Err: fmt.Errorf("store: watch closed")}:
			case <-ctx.Done():
			}
		}
	}()
	return out
}

func wrapWatch(err error) error {
	if errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("%w: %v", ErrCompacted, err)
	}
	return wrapEtcd(err)
}
