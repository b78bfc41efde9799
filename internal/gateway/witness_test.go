package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestWitnessRing: each node gets up to three other nodes with a witness
// listener as witnesses and is asked by exactly the nodes that list it; a
// node that leaves Deployed leaves the ring.
func TestWitnessRing(t *testing.T) {
	a := &assigner{sentWitness: map[string]string{}}
	node := func(id string, st api.NodeState, port int) *api.Node {
		return &api.Node{Meta: api.Meta{ID: id}, State: st, Address: "10.0.0." + id[1:], WitnessPort: port}
	}
	for _, n := range []*api.Node{node("n1", api.NodeDeployed, 7445), node("n2", api.NodeDeployed, 7445),
		node("n3", api.NodeDeployed, 7445), node("n4", api.NodeDeployed, 7445), node("n5", api.NodeDeployed, 7445),
		node("n6", api.NodeDeployed, 0), node("n7", api.NodeUnreachable, 7445)} {
		a.setWitness(n.ID, witnessAddr(n))
	}
	ws, askers := a.ring.witnesses("n4")
	if got := ids(ws); !slices.Equal(got, []string{"n5", "n1", "n2"}) || ws[0].Address != "10.0.0.5:7445" {
		t.Errorf("witnesses of n4 = %v (%v)", got, ws)
	}
	if !slices.Equal(askers, []string{"n1", "n2", "n3"}) {
		t.Errorf("askers of n4 = %v", askers)
	}
	// Every asker lists the node it asks.
	for _, id := range a.ring.ids {
		_, askers := a.ring.witnesses(id)
		for _, asker := range askers {
			if ws, _ := a.ring.witnesses(asker); !slices.Contains(ids(ws), id) {
				t.Errorf("%s may ask %s but does not list it", asker, id)
			}
		}
	}
	// A node without a listener asks others; nobody asks it.
	if ws, askers := a.ring.witnesses("n6"); len(ws) != 3 || askers != nil {
		t.Errorf("n6: witnesses %v, askers %v", ids(ws), askers)
	}
	if !a.setWitness("n5", witnessAddr(node("n5", api.NodeUnreachable, 7445))) || slices.Contains(a.ring.ids, "n5") {
		t.Error("an Unreachable node stayed on the ring")
	}
	if a.setWitness("n5", "") {
		t.Error("dropping a node off the ring twice changed it")
	}
	// Two nodes: one witness each.
	b := &assigner{}
	b.setWitness("x", "10.0.0.1:7445")
	b.setWitness("y", "10.0.0.2:7445")
	if ws, askers := b.ring.witnesses("x"); len(ws) != 1 || ws[0].Node != "y" || !slices.Equal(askers, []string{"y"}) {
		t.Errorf("x of two: witnesses %v, askers %v", ids(ws), askers)
	}
	// One node: none.
	c := &assigner{}
	c.setWitness("x", "10.0.0.1:7445")
	if ws, askers := c.ring.witnesses("x"); len(ws) != 0 || len(askers) != 0 {
		t.Errorf("a lone node: witnesses %v, askers %v", ids(ws), askers)
	}
}

// TestFenceAfter: the agents fence FenceMargin before the node-loss grace,
// and not at all when it leaves no room.
func TestFenceAfter(t *testing.T) {
	for grace, want := range map[time.Duration]int64{11 * time.Second: 6000, 30 * time.Second: 25000, 5 * time.Second: 0, 0: 0} {
		g := &Gateway{cfg: Config{NodeLossGrace: grace}}
		if got := g.fenceAfter(); got != want {
			t.Errorf("grace %s: FenceAfterMS %d, want %d", grace, got, want)
		}
	}
}

func ids(ws []api.Witness) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Node
	}
	return out
}
