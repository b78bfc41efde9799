package store

import (
	"testing"

	"github.com/wharfhq/wharf/api"
)

// An event without an organization takes the organization of the object
// it is about when that object is written in the same transaction; an
// event with one keeps it, and one about nothing written stays "".
func TestTxnStampsEventOrg(t *testing.T) {
	s := newTestStore(t)
	svc := &api.Service{Meta: api.Meta{ID: "s1", Name: "web", Org: "b"}}
	tx := s.Txn()
	tx.Create(KindServices, svc)
	tx.Emit(api.Event{Kind: "service", Object: "s1", Type: "created"},
		api.Event{Kind: "token", Object: "t1", Type: "created", Org: "c"},
		api.Event{Kind: "node", Object: "n1", Type: "deleted"})
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.Events(t.Context(), EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s1": "b", "t1": "c", "n1": ""}
	if len(evs) != 3 {
		t.Fatalf("events: %+v", evs)
	}
	for _, e := range evs {
		if e.Org != want[e.Object] {
			t.Errorf("event about %s: org %q, want %q", e.Object, e.Org, want[e.Object])
		}
	}
}
