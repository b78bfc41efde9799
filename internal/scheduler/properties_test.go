package scheduler

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/wharfhq/wharf/api"
)

var (
	propConstraints = []string{"zone==a", "zone!=b", "ssd==*", "rack==/[01]/", "node.os==linux", "zone==~a", "gpu!=~nvidia"}
	propAffinities  = []string{"service!=s0", "service!=s1", "service==s2", "image==img*", "service!=~s3"}
)

// randomService draws a service with random rules; its name is s<i>.
func randomService(rng *rand.Rand, i int) *api.Service {
	s := svc(fmt.Sprint("s", i), allDrivers[rng.Intn(2)], randomTags(rng)...)
	s.Spec.Image = fmt.Sprint("img", rng.Intn(3))
	for _, c := range propConstraints {
		if rng.Intn(5) == 0 {
			s.Spec.Constraints = append(s.Spec.Constraints, c)
		}
	}
	for _, a := range propAffinities {
		if rng.Intn(4) == 0 {
			s.Spec.Affinities = append(s.Spec.Affinities, a)
		}
	}
	if rng.Intn(3) == 0 {
		s.Spec.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 8000 + rng.Intn(3)}}
	}
	if rng.Intn(3) == 0 {
		s.Spec.Reservations = api.Resources{NanoCPUs: int64(rng.Intn(3)) * 5e8, MemoryBytes: int64(rng.Intn(3)) << 28}
	}
	s.Spec.Strategy = []string{"", api.StrategyEmptiestNode, api.StrategyHighAvailability, api.StrategySpread, api.StrategyBinpack, api.StrategyRandom}[rng.Intn(6)]
	return s
}

func propNodes(rng *rand.Rand, n int) []*api.Node {
	nodes := randomNodes(rng, n)
	for _, nd := range nodes {
		nd.OS = []string{"linux", "darwin"}[rng.Intn(2)]
		nd.CPUs = rng.Intn(4)
		nd.MemoryBytes = int64(rng.Intn(3)) << 30
	}
	return nodes
}

// violation says which rule one more container of s on node n would break,
// given the containers (with their services) already there, or "".
func violation(n *api.Node, s *api.Service, others []*api.Container, svcs map[string]*api.Service) string {
	if !eligible(n, Request{Container: &api.Container{Spec: api.ContainerSpec{Driver: s.Spec.DriverName()}}, Service: s}) {
		return "state, driver or tags"
	}
	for _, c := range s.Spec.Constraints {
		e, _ := ParseConstraint(c)
		if !e.Soft && !e.Holds(nodeValue(n, e)) {
			return "breaks " + c
		}
	}
	var cpu, mem int64
	for _, o := range others {
		os := svcs[o.Spec.Service]
		cpu += os.Spec.Reservations.NanoCPUs
		mem += os.Spec.Reservations.MemoryBytes
		for _, a := range s.Spec.Affinities {
			e, _ := ParseAffinity(a)
			if !e.Soft && !e.Equal && e.Key == AffinityService && e.Matches(os.Name) {
				return "breaks " + a
			}
		}
		for _, p := range s.Spec.Ports {
			for _, q := range os.Spec.Ports {
				if p.HostPort != 0 && p.HostPort == q.HostPort {
					return fmt.Sprint("port ", p.HostPort, " taken")
				}
			}
		}
	}
	r := s.Spec.Reservations
	if (r.NanoCPUs > 0 && n.CPUs > 0 && cpu+r.NanoCPUs > int64(n.CPUs)*1e9) || (r.MemoryBytes > 0 && n.MemoryBytes > 0 && mem+r.MemoryBytes > n.MemoryBytes) {
		return "overcommits"
	}
	return ""
}

// TestPlaceRulesProperties places random services with random rules on
// random clusters and replays the result: no placement breaks a hard
// constraint, an anti-affinity, a port or a reservation; every request is
// placed or has a reason; EligibleNodes agrees with the same rules.
func TestPlaceRulesProperties(t *testing.T) {
	for seed := int64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewSource(seed))
		nodes := propNodes(rng, rng.Intn(25))
		byID := map[string]*api.Node{}
		for _, n := range nodes {
			byID[n.ID] = n
		}
		svcs := map[string]*api.Service{}
		var list []*api.Service
		for i := range 6 {
			s := randomService(rng, i)
			svcs[s.ID] = s
			list = append(list, s)
		}
		var rs []Request
		for i := rng.Intn(120); i > 0; i-- {
			rs = append(rs, request(list[rng.Intn(len(list))], fmt.Sprint("r", i), i))
		}
		res := Place(nodes, nil, rs, WithRand(nil))
		if len(res.Placements)+len(res.Unplaced) != len(rs) {
			t.Fatalf("seed %d: %d placed + %d unplaced != %d", seed, len(res.Placements), len(res.Unplaced), len(rs))
		}
		for _, why := range res.Unplaced {
			if why == "" {
				t.Fatalf("seed %d: empty reason", seed)
			}
		}
		// Replay in the order the scheduler served: requests by class.
		reqOf := map[string]Request{}
		for _, r := range rs {
			reqOf[r.Container.ID] = r
		}
		onNode := map[string][]*api.Container{}
		order := map[*api.Service]int{}
		for _, r := range rs {
			if _, ok := order[r.Service]; !ok {
				order[r.Service] = len(order)
			}
		}
		for cls := range len(order) {
			for _, p := range res.Placements {
				r := reqOf[p.ContainerID]
				if order[r.Service] != cls {
					continue
				}
				if v := violation(byID[p.NodeID], r.Service, onNode[p.NodeID], svcs); v != "" {
					t.Fatalf("seed %d: %s on %s: %s", seed, r.Container.ID, p.NodeID, v)
				}
				onNode[p.NodeID] = append(onNode[p.NodeID], r.Container)
			}
		}
		// EligibleNodes covers exactly the nodes that pass the rules.
		var all []*api.Container
		for _, p := range res.Placements {
			c := *reqOf[p.ContainerID].Container
			c.Spec.Node = p.NodeID
			all = append(all, &c)
		}
		s := list[rng.Intn(len(list))]
		got, reason := EligibleNodes(nodes, all, s, WithServices(svcs))
		in := map[string]bool{}
		for _, n := range got {
			in[n.ID] = true
		}
		if len(got) == 0 && reason == "" && len(nodes) > 0 {
			t.Fatalf("seed %d: no eligible node and no reason", seed)
		}
		for _, n := range nodes {
			var others []*api.Container
			for _, c := range onNode[n.ID] {
				if c.Spec.Service != s.ID {
					others = append(others, c)
				}
			}
			if in[n.ID] != passes(n, s, others, svcs) {
				t.Fatalf("seed %d: EligibleNodes says %v for %s, rules say otherwise", seed, in[n.ID], n.ID)
			}
		}
	}
}

// passes applies every hard rule, written independently of the scheduler.
func passes(n *api.Node, s *api.Service, others []*api.Container, svcs map[string]*api.Service) bool {
	if violation(n, s, others, svcs) != "" {
		return false
	}
	for _, a := range s.Spec.Affinities {
		e, _ := ParseAffinity(a)
		if e.Soft || !e.Equal {
			continue
		}
		found := false
		for _, o := range others {
			os := svcs[o.Spec.Service]
			found = found || (e.Key == AffinityService && e.Matches(os.Name)) || (e.Key == AffinityImage && e.Matches(os.Spec.Image)) || (e.Key == AffinityContainer && e.Matches(o.Name))
		}
		if !found {
			return false
		}
	}
	return true
}

// TestHighAvailabilityZones: with room everywhere, one service's per-zone
// counts end within one of each other.
func TestHighAvailabilityZones(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewSource(seed))
		var nodes []*api.Node
		for i := rng.Intn(20) + 1; i > 0; i-- {
			nodes = append(nodes, deployed(fmt.Sprint("n", i), map[string]string{"az": fmt.Sprint("z", rng.Intn(4))}))
		}
		s := svc("ha", "exec")
		s.Spec.Strategy = api.StrategyHighAvailability
		other := svc("other", "exec")
		var containers []*api.Container
		for i := rng.Intn(30); i > 0; i-- {
			containers = append(containers, running(other, i, nodes[rng.Intn(len(nodes))].ID))
		}
		var rs []Request
		for i := rng.Intn(60); i > 0; i-- {
			rs = append(rs, request(s, fmt.Sprint("r", i), i))
		}
		zones := map[string]int{}
		for _, n := range nodes {
			zones[n.Labels["az"]] += 0
		}
		nodeZone := map[string]string{}
		for _, n := range nodes {
			nodeZone[n.ID] = n.Labels["az"]
		}
		for _, p := range Place(nodes, containers, rs).Placements {
			zones[nodeZone[p.NodeID]]++
		}
		lo, hi := 1<<30, 0
		for _, k := range zones {
			lo, hi = min(lo, k), max(hi, k)
		}
		if hi-lo > 1 {
			t.Fatalf("seed %d: per-zone counts %v", seed, zones)
		}
	}
}

func benchRules() ([]*api.Node, []*api.Container, []Request) {
	rng := rand.New(rand.NewSource(7))
	nodes := randomNodes(rng, 1000)
	for _, n := range nodes {
		n.State, n.Drivers = api.NodeDeployed, exec
	}
	var containers []*api.Container
	filler := svc("filler", "exec")
	for i := range 5000 {
		containers = append(containers, running(filler, i, nodes[rng.Intn(len(nodes))].ID))
	}
	var rs []Request
	for i := range 100 {
		s := svc(fmt.Sprint("s", i), "exec")
		s.Spec.Constraints = []string{[]string{"zone==a", "zone!=b", "rack==/[01]/", "ssd==*"}[i%4], "gpu!=~nvidia"}
		s.Spec.Affinities = []string{"service!=" + s.Name}
		for j := range 100 {
			rs = append(rs, request(s, fmt.Sprint("r", i, "-", j), j))
		}
	}
	return nodes, containers, rs
}

func BenchmarkPlaceConstraintsAntiAffinity10kOn1k(b *testing.B) {
	nodes, containers, rs := benchRules()
	b.ResetTimer()
	for b.Loop() {
		Place(nodes, containers, rs)
	}
}

// BenchmarkPlace10kServicesOn1k is the controller's worst case: every
// request its own service, so no class shares a filter pass.
func BenchmarkPlace10kServicesOn1k(b *testing.B) {
	rng := rand.New(rand.NewSource(9))
	nodes := randomNodes(rng, 1000)
	var rs []Request
	for i := range 10000 {
		s := svc(fmt.Sprint("s", i), allDrivers[i%2], randomTags(rng)...)
		if i%3 == 0 {
			s.Spec.Constraints = []string{"zone!=b"}
		}
		rs = append(rs, request(s, fmt.Sprint("r", i), 1))
	}
	b.ResetTimer()
	for b.Loop() {
		Place(nodes, nil, rs)
	}
}
