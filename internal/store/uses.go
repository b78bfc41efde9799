package store

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/internal/records"
)

// Counted objects (join tokens) carry their use count in etcd itself: every
// write to a key raises its version by one, so an object that is created
// once and then only ever rewritten by Use has been used Version-1 times.
// A use is one unconditional rewrite of the value as it is, bounded by a
// compare on the version, in the same transaction as whatever the use
// makes: concurrent uses never conflict with each other (etcd applies
// transactions one at a time and each compares the version it finds), so a
// limit of n admits exactly n uses however many race for them, with no
// read-modify-write retries.

// Use queues one use of an existing object: the commit fails with
// ErrNotFound if the object is gone (revoked) and with ErrUsedUp if it has
// already been used limit times (limit 0: no limit). The object's value is
// left as it is; its Revision changes.
func (t *Txn) Use(kind, id string, limit int64) {
	key := t.s.Key(kind, id)
	if t.limits == nil {
		t.limits = map[int]int64{}
	}
	t.limits[len(t.keys)] = limit
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.Version(key), ">", 0))
	if limit > 0 {
		// Created at version 1, so used limit times at version limit+1.
		t.cmps = append(t.cmps, clientv3.Compare(clientv3.Version(key), "<", limit+1))
	}
	t.keys = append(t.keys, key)
	t.created = append(t.created, false)
	t.writes = append(t.writes, write{key: key, keepValue: true})
	t.objs = append(t.objs, nil)
}

// Uses is how many times Txn.Use counted the object r holds (it must have
// been written only by its creation and by Use).
func (r RawObject) Uses() int64 { return max(r.Version-1, 0) }

// ListJoinTokens reads every join token as stored (with its hash), with
// Uses filled in.
func ListJoinTokens(ctx context.Context, s *Store) ([]*records.JoinToken, error) {
	res, err := s.List(ctx, KindJoinTokens, ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*records.JoinToken, 0, len(res.Items))
	for _, raw := range res.Items {
		var t records.JoinToken
		if err := raw.Decode(&t); err != nil {
			return nil, err
		}
		t.Uses = raw.Uses()
		out = append(out, &t)
	}
	return out, nil
}
