package controller

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// TestEveryNodeSlotsProperties checks wantedSlots on random clusters: an
// EVERY_NODE service owns exactly one slot on every eligible node and none
// twice; a node it owns a slot on is eligible, or Unreachable within the
// node-loss grace and still running that slot; the slots are distinct; and
// a container on an eligible node keeps its slot when no other container
// contests it.
func TestEveryNodeSlotsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	states := []api.NodeState{api.NodeDeployed, api.NodeDeployed, api.NodeDeployed, api.NodeUnreachable, api.NodeDeploying}
	for iter := range 500 {
		c := &Services{cache: newCache(), downSince: map[string]time.Time{}, lossGrace: 30 * time.Second}
		nn := 1 + rng.IntN(16)
		for i := range nn {
			n := &api.Node{Meta: api.Meta{ID: fmt.Sprintf("n%02d", i)}, State: states[rng.IntN(len(states))],
				Drivers: []string{"fake"}, Labels: map[string]string{}}
			if rng.IntN(3) > 0 {
				n.Labels["role"] = "web"
			}
			if n.State == api.NodeUnreachable && rng.IntN(2) == 0 {
				c.downSince[n.ID] = time.Now().Add(-time.Minute) // past the grace
			}
			c.cache.nodes[n.ID] = n
		}
		svc := &api.Service{Meta: api.Meta{ID: "s"}, Spec: api.ServiceSpec{Command: []string{"x"}, Driver: "fake",
			Strategy: api.StrategyEveryNode, Tags: []string{"role=web"}, Running: true}}
		c.cache.services[svc.ID] = svc
		p := &plan{svc: svc}
		var live []*api.Container
		for i := range rng.IntN(2 * nn) {
			ct := &api.Container{Meta: api.Meta{ID: fmt.Sprintf("c%d", i)}, Spec: api.ContainerSpec{Service: svc.ID,
				Node: fmt.Sprintf("n%02d", rng.IntN(nn+2)), Slot: 1 + rng.IntN(2*nn), Desired: api.ContainerRunning}}
			if rng.IntN(5) == 0 {
				ct.Spec.Desired = api.ContainerTerminated
			} else {
				live = append(live, ct)
			}
			c.cache.containers[ct.ID] = ct
			p.items = append(p.items, &item{orig: ct, cur: ct})
		}
		eligible, _ := scheduler.EligibleNodes(slices.Collect(maps.Values(c.cache.nodes)), slices.Collect(maps.Values(c.cache.containers)), svc)

		slots, nodeOf := c.wantedSlots(p)
		desc := fmt.Sprintf("case %d: nodes %d, eligible %d, containers %d, slots %v", iter, nn, len(eligible), len(p.items), nodeOf)
		if !slices.Equal(slots, slices.Sorted(maps.Keys(nodeOf))) {
			t.Fatalf("%s: slots %v are not the keys of nodeOf", desc, slots)
		}
		owned := map[string]int{}
		for s, n := range nodeOf {
			owned[n]++
			if owned[n] > 1 {
				t.Fatalf("%s: node %s owns two slots", desc, n)
			}
			if slices.ContainsFunc(eligible, func(e *api.Node) bool { return e.ID == n }) {
				continue
			}
			node := c.cache.nodes[n]
			runs := slices.ContainsFunc(live, func(ct *api.Container) bool { return ct.Spec.Node == n && ct.Spec.Slot == s })
			if node == nil || node.State != api.NodeUnreachable || c.nodeDown(&api.Container{Spec: api.ContainerSpec{Node: n}}) || !runs {
				t.Fatalf("%s: slot %d on node %s, which is neither eligible nor briefly unreachable with that slot", desc, s, n)
			}
		}
		for _, e := range eligible {
			if owned[e.ID] != 1 {
				t.Fatalf("%s: eligible node %s owns %d slots, want 1", desc, e.ID, owned[e.ID])
			}
		}
		// Uncontested: the only live container on its node, and the only
		// one with its slot.
		for _, ct := range live {
			alone := !slices.ContainsFunc(live, func(o *api.Container) bool {
				return o != ct && (o.Spec.Node == ct.Spec.Node || o.Spec.Slot == ct.Spec.Slot)
			})
			onEligible := slices.ContainsFunc(eligible, func(e *api.Node) bool { return e.ID == ct.Spec.Node })
			if alone && onEligible && nodeOf[ct.Spec.Slot] != ct.Spec.Node {
				t.Fatalf("%s: %s (slot %d on %s) lost its slot", desc, ct.ID, ct.Spec.Slot, ct.Spec.Node)
			}
		}
	}
}
