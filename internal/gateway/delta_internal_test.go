package gateway

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// offered is a set of containers at the given spec versions, by ID.
func offered(rev int64, ids []string, versions ...int64) *offeredSet {
	a := &api.Assignments{Revision: rev, FenceAfterMS: 5000}
	for _, id := range ids {
		a.Containers = append(a.Containers, api.Container{Meta: api.Meta{ID: id}})
	}
	return &offeredSet{Assignments: a, versions: versions}
}

func shape(a *api.Assignments) string {
	var ids []string
	for _, c := range a.Containers {
		ids = append(ids, c.ID)
	}
	return fmt.Sprintf("delta=%v containers=%v kept=%v", a.Delta, ids, a.Kept)
}

// The delivered set decides a push's form: full until a set was accepted
// with deltas on, then what is new or at another version, the rest kept;
// full again after forget (a failed push) or without deltas.
func TestDeliveredSetWireForm(t *testing.T) {
	var d deliveredSet
	first := offered(1, []string{"a", "b"}, 10, 11)
	if got := shape(d.wireForm(first, true)); got != "delta=false containers=[a b] kept=[]" {
		t.Fatalf("nothing delivered: %s, want the full set", got)
	}
	d.accepted(first, true)

	next := offered(2, []string{"b", "c"}, 12, 13) // a gone, b respecced, c new
	if got := shape(d.wireForm(next, true)); got != "delta=true containers=[b c] kept=[]" {
		t.Errorf("b at another version, c new: %s", got)
	}
	d.accepted(next, true)
	same := offered(3, []string{"b", "c", "d"}, 12, 13, 14)
	w := d.wireForm(same, true)
	if got := shape(w); got != "delta=true containers=[d] kept=[b c]" {
		t.Errorf("only d new: %s", got)
	}
	if w.Revision != 3 || w.FenceAfterMS != 5000 || same.Delta || len(same.Containers) != 3 {
		t.Errorf("the delta %+v must carry the set's other fields and leave the offered set whole (%s)", w, shape(same.Assignments))
	}

	if got := shape(d.wireForm(same, false)); got != "delta=false containers=[b c d] kept=[]" {
		t.Errorf("deltas off: %s, want the full set", got)
	}
	d.forget()
	if got := shape(d.wireForm(same, true)); got != "delta=false containers=[b c d] kept=[]" {
		t.Errorf("after forget: %s, want the full set", got)
	}
	d.accepted(same, true)
	if !slices.Equal(d.wireForm(same, true).Kept, []string{"b", "c", "d"}) {
		t.Errorf("after a full set accepted, its containers are kept")
	}
	d.accepted(same, false)
	if d.versions != nil {
		t.Errorf("an agent without deltas has a delivered set kept for it")
	}
}
