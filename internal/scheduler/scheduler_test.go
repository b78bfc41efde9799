package scheduler

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func node(id string, state api.NodeState, drivers []string, labels map[string]string) *api.Node {
	return &api.Node{Meta: api.Meta{ID: id}, State: state, Drivers: drivers, Labels: labels}
}

func ctr(id, nodeID string, desired api.ContainerState) *api.Container {
	return &api.Container{Meta: api.Meta{ID: id}, Spec: api.ContainerSpec{Node: nodeID, Desired: desired}}
}

// avail sets n's availability.
func avail(n *api.Node, a api.NodeAvailability) *api.Node {
	n.Availability = a
	return n
}

// svc is a service with a driver and tags, named and identified by name.
func svc(name, driver string, tags ...string) *api.Service {
	return &api.Service{Meta: api.Meta{ID: name, Name: name}, Spec: api.ServiceSpec{Driver: driver, Tags: tags}}
}

// request is one request of service s, its container named <s.Name>-<slot>.
func request(s *api.Service, id string, slot int) Request {
	c := ctr(id, "", api.ContainerRunning)
	c.Name = fmt.Sprintf("%s-%d", s.Name, slot)
	c.Spec.Service, c.Spec.Slot, c.Spec.Driver = s.ID, slot, s.Spec.DriverName()
	c.Spec.Image, c.Spec.Ports = s.Spec.Image, s.Spec.Ports
	return Request{Container: c, Service: s}
}

func reqs(n int, prefix, driver string, tags ...string) []Request {
	s := svc(prefix+"svc", driver, tags...)
	out := make([]Request, n)
	for i := range out {
		out[i] = request(s, fmt.Sprintf("%s%d", prefix, i), i)
	}
	return out
}

func perNode(r Result) map[string]int {
	m := map[string]int{}
	for _, p := range r.Placements {
		m[p.NodeID]++
	}
	return m
}

var exec = []string{"exec"}

func TestPlaceTable(t *testing.T) {
	three := []*api.Node{node("c", api.NodeDeployed, exec, nil), node("a", api.NodeDeployed, exec, nil), node("b", api.NodeDeployed, exec, nil)}
	cases := []struct {
		name       string
		nodes      []*api.Node
		containers []*api.Container
		reqs       []Request
		want       map[string]int
		first      string // node of the first placement, if set
		unplaced   map[string]string
	}{
		{name: "spread evenly", nodes: three, reqs: reqs(6, "r", "exec"), want: map[string]int{"a": 2, "b": 2, "c": 2}, first: "a"},
		{
			name:  "emptiest first, terminated and unplaced do not count",
			nodes: three,
			containers: []*api.Container{
				ctr("x1", "a", api.ContainerRunning), ctr("x2", "a", api.ContainerStopped), ctr("x3", "b", api.ContainerRunning),
				ctr("t1", "c", api.ContainerTerminated), ctr("u1", "", api.ContainerRunning), ctr("g1", "gone", api.ContainerRunning),
			},
			reqs:  reqs(3, "r", "exec"),
			want:  map[string]int{"c": 2, "b": 1},
			first: "c",
		},
		{name: "no nodes", reqs: reqs(2, "r", "exec"), unplaced: map[string]string{"r0": "no nodes", "r1": "no nodes"}},
		{
			name: "reasons counted",
			nodes: []*api.Node{
				node("n1", api.NodeUnreachable, exec, nil), node("n2", api.NodeDeploying, exec, nil), node("n3", api.NodeDeployed, exec, nil),
				node("n4", api.NodeDeployed, exec, map[string]string{"zone": "internal"}), node("n5", api.NodeDeployed, exec, nil),
			},
			reqs:     reqs(1, "r", "exec", "zone=external"),
			unplaced: map[string]string{"r0": "0 of 5 nodes: 2 not Deployed, 3 lack tag zone=external"},
		},
		{
			name: "paused and draining nodes take nothing",
			nodes: []*api.Node{
				avail(node("n1", api.NodeDeployed, exec, nil), api.AvailabilityPause), avail(node("n2", api.NodeDeployed, exec, nil), api.AvailabilityDrain),
				avail(node("n3", api.NodeDeployed, exec, nil), api.AvailabilityDrain), avail(node("n4", api.NodeDeployed, exec, nil), api.AvailabilityActive),
			},
			reqs: reqs(2, "r", "exec"),
			want: map[string]int{"n4": 2},
		},
		{
			name: "paused and draining nodes counted",
			nodes: []*api.Node{
				avail(node("n1", api.NodeDeployed, exec, nil), api.AvailabilityPause), avail(node("n2", api.NodeDeployed, exec, nil), api.AvailabilityDrain),
				avail(node("n3", api.NodeDeployed, exec, nil), api.AvailabilityDrain), avail(node("n4", api.NodeUnreachable, exec, nil), api.AvailabilityPause),
			},
			reqs:     reqs(1, "r", "exec"),
			unplaced: map[string]string{"r0": "0 of 4 nodes: 1 not Deployed, 1 paused, 2 draining"},
		},
		{
			name:     "driver and several tags",
			nodes:    []*api.Node{node("n1", api.NodeDeployed, []string{"docker"}, nil), node("n2", api.NodeDeployed, exec, map[string]string{"ssd": ""})},
			reqs:     reqs(1, "r", "exec", "ssd", "zone=x"),
			unplaced: map[string]string{"r0": "0 of 2 nodes: 1 lacks driver exec, 1 lacks tag zone=x"},
		},
		{
			name:     "one node",
			nodes:    []*api.Node{node("n1", api.NodeUnreachable, exec, nil)},
			reqs:     reqs(1, "r", "exec"),
			unplaced: map[string]string{"r0": "0 of 1 node: 1 not Deployed"},
		},
		{
			name:  "tags: key present, key=value",
			nodes: []*api.Node{node("n1", api.NodeDeployed, exec, map[string]string{"ssd": "yes", "zone": "a"}), node("n2", api.NodeDeployed, exec, map[string]string{"zone": "a"}), node("n3", api.NodeDeployed, exec, map[string]string{"ssd": "no", "zone": "b"})},
			reqs:  reqs(3, "r", "exec", "ssd", "zone=a"),
			want:  map[string]int{"n1": 3},
		},
		{
			name:  "classes share counts",
			nodes: []*api.Node{node("a", api.NodeDeployed, exec, map[string]string{"x": "1"}), node("b", api.NodeDeployed, exec, nil)},
			reqs:  append(reqs(2, "p", "exec", "x"), reqs(2, "q", "exec")...),
			want:  map[string]int{"a": 2, "b": 2},
		},
		{
			name:  "duplicate tags are one class",
			nodes: []*api.Node{node("a", api.NodeDeployed, exec, map[string]string{"x": "1"})},
			reqs:  append(reqs(1, "p", "exec", "x", "x"), reqs(1, "q", "exec", "x")...),
			want:  map[string]int{"a": 2},
		},
		{
			name:  "empty driver asks for none",
			nodes: []*api.Node{node("a", api.NodeDeployed, nil, nil)},
			reqs:  []Request{{Container: ctr("r0", "", api.ContainerRunning)}},
			want:  map[string]int{"a": 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Place(tc.nodes, tc.containers, tc.reqs)
			got := perNode(res)
			if len(tc.want) != len(got) {
				t.Fatalf("placements per node = %v, want %v", got, tc.want)
			}
			for n, c := range tc.want {
				if got[n] != c {
					t.Fatalf("placements per node = %v, want %v", got, tc.want)
				}
			}
			if tc.first != "" && res.Placements[0].NodeID != tc.first {
				t.Errorf("first placement on %s, want %s", res.Placements[0].NodeID, tc.first)
			}
			if len(res.Unplaced) != len(tc.unplaced) {
				t.Fatalf("unplaced = %v, want %v", res.Unplaced, tc.unplaced)
			}
			for id, r := range tc.unplaced {
				if res.Unplaced[id] != r {
					t.Errorf("reason for %s = %q, want %q", id, res.Unplaced[id], r)
				}
			}
			order := map[string]int{}
			for i, r := range tc.reqs {
				order[r.Container.ID] = i
			}
			for i := 1; i < len(res.Placements); i++ {
				if order[res.Placements[i].ContainerID] <= order[res.Placements[i-1].ContainerID] {
					t.Errorf("placements out of request order: %v", res.Placements)
				}
			}
		})
	}
}

func TestPlaceDeterministic(t *testing.T) {
	nodes := []*api.Node{node("b", api.NodeDeployed, exec, nil), node("a", api.NodeDeployed, exec, nil)}
	r := reqs(5, "r", "exec")
	first := Place(nodes, nil, r)
	want := []string{"a", "b", "a", "b", "a"}
	for i, p := range first.Placements {
		if p.NodeID != want[i] || p.ContainerID != fmt.Sprintf("r%d", i) {
			t.Fatalf("placements = %v", first.Placements)
		}
	}
	nodes[0], nodes[1] = nodes[1], nodes[0]
	second := Place(nodes, nil, r)
	for i := range first.Placements {
		if first.Placements[i] != second.Placements[i] {
			t.Fatalf("node order changed the result: %v vs %v", first.Placements, second.Placements)
		}
	}
}

var (
	allTags    = []string{"zone=a", "zone=b", "ssd", "gpu", "rack=1"}
	allDrivers = []string{"exec", "docker"}
	allStates  = []api.NodeState{api.NodeDeployed, api.NodeDeployed, api.NodeDeployed, api.NodeUnreachable, api.NodeDeploying}
)

func randomNodes(rng *rand.Rand, n int) []*api.Node {
	nodes := make([]*api.Node, n)
	for i := range nodes {
		labels := map[string]string{}
		if rng.Intn(2) == 0 {
			labels["zone"] = []string{"a", "b"}[rng.Intn(2)]
		}
		if rng.Intn(2) == 0 {
			labels["ssd"] = ""
		}
		if rng.Intn(4) == 0 {
			labels["gpu"] = "nvidia"
		}
		if rng.Intn(3) == 0 {
			labels["rack"] = fmt.Sprint(rng.Intn(3))
		}
		var drivers []string
		for _, d := range allDrivers {
			if rng.Intn(3) > 0 {
				drivers = append(drivers, d)
			}
		}
		nodes[i] = node(fmt.Sprintf("node-%04d", rng.Intn(100000)), allStates[rng.Intn(len(allStates))], drivers, labels)
		nodes[i].ID += fmt.Sprintf("-%d", i) // unique
	}
	return nodes
}

func randomTags(rng *rand.Rand) []string {
	var tags []string
	for _, t := range allTags {
		if rng.Intn(4) == 0 {
			tags = append(tags, t)
		}
	}
	return tags
}

func eligible(n *api.Node, r Request) bool {
	if n.State != api.NodeDeployed {
		return false
	}
	driver := r.Container.Spec.Driver
	hasDriver := driver == ""
	for _, d := range n.Drivers {
		hasDriver = hasDriver || d == driver
	}
	if !hasDriver {
		return false
	}
	for _, t := range r.Service.Spec.Tags {
		k, v, withValue := strings.Cut(t, "=")
		got, ok := n.Labels[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}

// TestPlaceProperties checks, over many random clusters, that every request
// is placed on an eligible node or has a reason, and that when all requests
// share a class and its eligible nodes start equal, they end within one.
func TestPlaceProperties(t *testing.T) {
	for seed := int64(1); seed <= 500; seed++ {
		rng := rand.New(rand.NewSource(seed))
		nodes := randomNodes(rng, rng.Intn(30))
		byID := map[string]*api.Node{}
		for _, n := range nodes {
			byID[n.ID] = n
		}

		// Mixed classes, random existing load.
		var containers []*api.Container
		for i := rng.Intn(100); i > 0 && len(nodes) > 0; i-- {
			containers = append(containers, ctr(fmt.Sprint("c", i), nodes[rng.Intn(len(nodes))].ID, api.ContainerRunning))
		}
		var rs []Request
		for i := rng.Intn(200); i > 0; i-- {
			s := svc(fmt.Sprint("s", i%7), allDrivers[rng.Intn(2)], randomTags(rng)...)
			rs = append(rs, request(s, fmt.Sprint("r", i), i))
		}
		res := Place(nodes, containers, rs)
		if len(res.Placements)+len(res.Unplaced) != len(rs) {
			t.Fatalf("seed %d: %d placed + %d unplaced != %d requests", seed, len(res.Placements), len(res.Unplaced), len(rs))
		}
		reqByID := map[string]Request{}
		for _, r := range rs {
			reqByID[r.Container.ID] = r
		}
		for _, p := range res.Placements {
			n, r := byID[p.NodeID], reqByID[p.ContainerID]
			if n == nil || !eligible(n, r) {
				t.Fatalf("seed %d: %s placed on ineligible node %v", seed, p.ContainerID, n)
			}
			if _, ok := res.Unplaced[p.ContainerID]; ok {
				t.Fatalf("seed %d: %s both placed and unplaced", seed, p.ContainerID)
			}
		}
		for id, reason := range res.Unplaced {
			if reason == "" || strings.Contains(reason, "\n") {
				t.Fatalf("seed %d: bad reason %q", seed, reason)
			}
			for _, n := range nodes {
				if eligible(n, reqByID[id]) {
					t.Fatalf("seed %d: %s unplaced (%s) but %s is eligible", seed, id, reason, n.ID)
				}
			}
		}

		// One class, equal start: counts end within one of each other.
		s0 := svc("one", allDrivers[rng.Intn(2)], randomTags(rng)...)
		r0 := request(s0, "", 0)
		base := rng.Intn(3)
		containers = containers[:0]
		for _, n := range nodes {
			for j := 0; j < base; j++ {
				containers = append(containers, ctr(fmt.Sprint(n.ID, "-", j), n.ID, api.ContainerRunning))
			}
		}
		rs = rs[:0]
		for i := rng.Intn(300); i > 0; i-- {
			rs = append(rs, request(s0, fmt.Sprint("s", i), i))
		}
		res = Place(nodes, containers, rs)
		got := perNode(res)
		lo, hi, any := 1<<30, -1, false
		for _, n := range nodes {
			if !eligible(n, r0) {
				if got[n.ID] > 0 {
					t.Fatalf("seed %d: placed on ineligible %s", seed, n.ID)
				}
				continue
			}
			any = true
			lo, hi = min(lo, got[n.ID]), max(hi, got[n.ID])
		}
		if any && hi-lo > 1 {
			t.Fatalf("seed %d: counts across eligible nodes range %d..%d", seed, lo, hi)
		}
		if !any && len(res.Unplaced) != len(rs) {
			t.Fatalf("seed %d: no eligible node but %d unplaced of %d", seed, len(res.Unplaced), len(rs))
		}
	}
}

func bench10kOn1k() ([]*api.Node, []*api.Container, []Request) {
	rng := rand.New(rand.NewSource(42))
	nodes := randomNodes(rng, 1000)
	var containers []*api.Container
	for i := 0; i < 5000; i++ {
		containers = append(containers, ctr(fmt.Sprint("c", i), nodes[rng.Intn(len(nodes))].ID, api.ContainerRunning))
	}
	// One service per driver and set of tags, as the controller would ask.
	svcs := map[string]*api.Service{}
	var rs []Request
	for i := 0; i < 10000; i++ {
		driver, tags := allDrivers[i%2], randomTags(rng)
		key := fmt.Sprint(driver, tags)
		if svcs[key] == nil {
			svcs[key] = svc(fmt.Sprint("svc", len(svcs)), driver, tags...)
		}
		rs = append(rs, request(svcs[key], fmt.Sprint("r", i), i))
	}
	return nodes, containers, rs
}

func BenchmarkPlace10kOn1k(b *testing.B) {
	nodes, containers, rs := bench10kOn1k()
	b.ResetTimer()
	for b.Loop() {
		Place(nodes, containers, rs)
	}
}
