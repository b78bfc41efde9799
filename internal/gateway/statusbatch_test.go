package gateway

import (
	"strconv"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func req(ids ...string) *statusReq { return &statusReq{order: ids} }

// A group never names a container twice (etcd refuses a transaction that
// writes one key twice) and stays within one transaction's size.
func TestTakeGroup(t *testing.T) {
	a, b, c := req("c1", "c2"), req("c3"), req("c2", "c4")
	group, rest := takeGroup([]*statusReq{a, b, c})
	if len(group) != 2 || group[0] != a || group[1] != b || len(rest) != 1 || rest[0] != c {
		t.Fatalf("clash: group %d, rest %d; want a, b then c", len(group), len(rest))
	}

	big := make([]string, reportChunk-1)
	for i := range big {
		big[i] = "b" + strconv.Itoa(i)
	}
	x, y := req(big...), req("y1", "y2")
	group, rest = takeGroup([]*statusReq{x, y})
	if len(group) != 1 || len(rest) != 1 || rest[0] != y {
		t.Fatalf("size: group %d, rest %d; want the second request left for the next transaction", len(group), len(rest))
	}

	group, rest = takeGroup([]*statusReq{a})
	if len(group) != 1 || rest != nil {
		t.Fatalf("one request: group %d, rest %d", len(group), len(rest))
	}
	if group, rest = takeGroup(nil); group != nil || rest != nil {
		t.Fatal("nothing pending must give an empty group")
	}
}

// The latest known version of a container is the gateway's own last
// write of it until the watch's mirror catches up; the record of writes
// stays bounded.
func TestLatestKnown(t *testing.T) {
	g := &Gateway{}
	g.assign = newAssigner(g)
	b := &statusBatcher{g: g}
	mirror := func(rev int64) {
		g.assign.byNode["n1"] = map[string]*api.Container{"c1": {Meta: api.Meta{ID: "c1", Revision: rev}, Spec: api.ContainerSpec{Node: "n1"}}}
	}
	mirror(10)
	b.remember([]store.Object{&api.Container{Meta: api.Meta{ID: "c1", Revision: 12}, Spec: api.ContainerSpec{Node: "n1"}}})
	if c, ok := b.latestKnown("n1", "c1"); !ok || c.Revision != 12 {
		t.Fatalf("mirror behind: got revision %d (%v), want our write's 12", c.Revision, ok)
	}
	mirror(15)
	if c, ok := b.latestKnown("n1", "c1"); !ok || c.Revision != 15 {
		t.Fatalf("mirror caught up: got revision %d (%v), want the mirror's 15", c.Revision, ok)
	}
	if len(b.written) != 0 {
		t.Errorf("%d writes still recorded after the mirror caught up", len(b.written))
	}
	var many []store.Object
	for i := range maxWritten + 1 {
		many = append(many, &api.Container{Meta: api.Meta{ID: "x" + strconv.Itoa(i), Revision: 1}, Spec: api.ContainerSpec{Node: "n1"}})
	}
	b.remember(many)
	if len(b.written) > maxWritten {
		t.Errorf("%d writes recorded, want at most %d", len(b.written), maxWritten)
	}
}
