package store

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
)

// TestCreateExpiringIsOnTheRetentionLease: an object CreateExpiring writes
// is created like any other (and refused when it exists), but etcd holds
// it on a lease that ends after Retention, so the audit trail is bounded.
func TestCreateExpiringIsOnTheRetentionLease(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := &thing{Meta: api.Meta{ID: "a"}, N: 1}
	tx := s.Txn()
	tx.CreateExpiring("things", a)
	tx.Create("things", &thing{Meta: api.Meta{ID: "b"}})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var got thing
	if err := s.Get(ctx, "things", "a", &got); err != nil || got.N != 1 || got.Revision != a.Revision {
		t.Fatalf("get = %+v, %v", got, err)
	}
	lease := func(id string) clientv3.LeaseID {
		resp, err := s.Client().Get(ctx, s.Key("things", id))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("get %s: %v", id, err)
		}
		return clientv3.LeaseID(resp.Kvs[0].Lease)
	}
	if l := lease("b"); l != 0 {
		t.Fatalf("a plain Create is on lease %x", l)
	}
	l := lease("a")
	if l == 0 {
		t.Fatal("CreateExpiring wrote no lease")
	}
	ttl, err := s.Client().TimeToLive(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(ttl.TTL) * time.Second; got < Retention || got > Retention+time.Hour {
		t.Fatalf("lease TTL %s, want between %s and %s", got, Retention, Retention+time.Hour)
	}
	tx = s.Txn()
	tx.CreateExpiring("things", &thing{Meta: api.Meta{ID: "a"}})
	if err := tx.Commit(ctx); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateExpiring over an existing object: %v, want ErrExists", err)
	}
}
