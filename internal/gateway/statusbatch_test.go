package gateway

import (
	"strconv"
	"testing"
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
