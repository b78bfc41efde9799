package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func deployed(id string, labels map[string]string) *api.Node {
	return node(id, api.NodeDeployed, exec, labels)
}

// running is a running container of service s on node n.
func running(s *api.Service, slot int, n string) *api.Container {
	r := request(s, fmt.Sprintf("%s-c%d", s.Name, slot), slot)
	r.Container.Spec.Node = n
	return r.Container
}

func TestFilters(t *testing.T) {
	db := svc("db", "exec")
	db.Spec.Image = "redis"
	web := svc("web", "exec")
	five := func() []*api.Node {
		return []*api.Node{
			deployed("n1", map[string]string{"zone": "external", "disk": "ssd-nvme"}),
			deployed("n2", map[string]string{"zone": "external", "disk": "hdd"}),
			deployed("n3", map[string]string{"zone": "internal"}),
			deployed("n4", nil),
			deployed("n5", map[string]string{"zone": "internal"}),
		}
	}
	with := func(f func(*api.ServiceSpec)) *api.Service {
		s := svc("app", "exec")
		f(&s.Spec)
		return s
	}
	cases := []struct {
		name       string
		svc        *api.Service
		n          int
		containers []*api.Container
		want       map[string]int
		reason     string
	}{
		{name: "constraint glob", svc: with(func(s *api.ServiceSpec) { s.Constraints = []string{"node.labels.disk==ssd*"} }), n: 2, want: map[string]int{"n1": 2}},
		{name: "constraint !=: missing label passes", svc: with(func(s *api.ServiceSpec) { s.Constraints = []string{"zone!=external"} }), n: 3, want: map[string]int{"n3": 1, "n4": 1, "n5": 1}},
		{name: "node facts", svc: with(func(s *api.ServiceSpec) { s.Constraints = []string{"node.id==/n[45]/"} }), n: 2, want: map[string]int{"n4": 1, "n5": 1}},
		{
			name: "reasons counted once under the first failure", n: 1,
			svc:        with(func(s *api.ServiceSpec) { s.Constraints = []string{"zone==external", "disk==ssd"} }),
			reason:     "0 of 5 nodes: 3 fail zone==external, 2 fail disk==ssd",
			containers: []*api.Container{running(svc("x", "exec"), 1, "n1")},
		},
		{name: "affinity", svc: with(func(s *api.ServiceSpec) { s.Affinities = []string{"service==db"} }), n: 3, containers: []*api.Container{running(db, 1, "n3")}, want: map[string]int{"n3": 3}},
		{name: "image affinity", svc: with(func(s *api.ServiceSpec) { s.Affinities = []string{"image==red*"} }), n: 1, containers: []*api.Container{running(db, 1, "n2")}, want: map[string]int{"n2": 1}},
		{name: "container affinity", svc: with(func(s *api.ServiceSpec) { s.Affinities = []string{"container==web-4"} }), n: 1, containers: []*api.Container{running(web, 4, "n5")}, want: map[string]int{"n5": 1}},
		{
			name: "anti-affinity one per node, counting this call", n: 7,
			svc:    with(func(s *api.ServiceSpec) { s.Affinities = []string{"service!=app"} }),
			want:   map[string]int{"n1": 1, "n2": 1, "n3": 1, "n4": 1, "n5": 1},
			reason: "0 of 5 nodes: 5 fail service!=app",
		},
		{
			name: "ports", n: 5,
			svc: with(func(s *api.ServiceSpec) {
				s.Ports = []api.PortSpec{{ContainerPort: 8080, HostPort: 80}, {ContainerPort: 53, HostPort: 53, Protocol: "udp"}}
			}),
			containers: []*api.Container{running(with(func(s *api.ServiceSpec) { s.Ports = []api.PortSpec{{ContainerPort: 1, HostPort: 80}} }), 1, "n1")},
			want:       map[string]int{"n2": 1, "n3": 1, "n4": 1, "n5": 1},
			reason:     "0 of 5 nodes: 5 have port 80 taken",
		},
		{name: "ingress ports are the routers'", svc: with(func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 443, Mode: api.PortModeIngress}}
		}), n: 10, containers: []*api.Container{running(with(func(s *api.ServiceSpec) {
			s.Ports = []api.PortSpec{{ContainerPort: 1, HostPort: 443, Mode: api.PortModeIngress}}
		}), 1, "n1")}, want: map[string]int{"n1": 2, "n2": 2, "n3": 2, "n4": 2, "n5": 2}},
		{name: "host port 0 never conflicts", svc: with(func(s *api.ServiceSpec) { s.Ports = []api.PortSpec{{ContainerPort: 80}} }), n: 10, want: map[string]int{"n1": 2, "n2": 2, "n3": 2, "n4": 2, "n5": 2}},
		{name: "soft constraint preferred", svc: with(func(s *api.ServiceSpec) { s.Constraints = []string{"zone==~internal"} }), n: 4, want: map[string]int{"n3": 2, "n5": 2}},
		{name: "soft constraint never refuses", svc: with(func(s *api.ServiceSpec) { s.Constraints = []string{"zone==~mars"} }), n: 5, want: map[string]int{"n1": 1, "n2": 1, "n3": 1, "n4": 1, "n5": 1}},
		{name: "soft anti-affinity", svc: with(func(s *api.ServiceSpec) { s.Affinities = []string{"service!=~app"} }), n: 6, want: map[string]int{"n1": 2, "n2": 1, "n3": 1, "n4": 1, "n5": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rs []Request
			for i := range tc.n {
				rs = append(rs, request(tc.svc, fmt.Sprint("r", i), i+1))
			}
			res := Place(five(), tc.containers, rs)
			got := perNode(res)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && tc.want == nil) {
				t.Errorf("placed %v, want %v", got, tc.want)
			}
			for _, r := range res.Unplaced {
				if r != tc.reason {
					t.Errorf("reason %q, want %q", r, tc.reason)
				}
			}
			if tc.reason != "" && len(res.Unplaced) == 0 {
				t.Errorf("nothing unplaced, want %q", tc.reason)
			}
		})
	}
}

func TestReservations(t *testing.T) {
	nodes := []*api.Node{deployed("a", nil), deployed("b", nil), deployed("c", nil)}
	nodes[0].CPUs, nodes[0].MemoryBytes = 2, 1<<30
	nodes[1].CPUs, nodes[1].MemoryBytes = 1, 4<<30
	// c reports nothing: it is never checked.
	big := svc("big", "exec")
	big.Spec.Reservations = api.Resources{NanoCPUs: 5e8, MemoryBytes: 512 << 20}
	old := running(big, 1, "a")
	var rs []Request
	for i := range 6 {
		rs = append(rs, request(big, fmt.Sprint("r", i), i+2))
	}
	res := Place(nodes, []*api.Container{old}, rs, WithServices(map[string]*api.Service{big.ID: big}))
	got := perNode(res)
	// a: 1 GiB holds 2 (one already); b: 1 CPU holds 2; c takes the rest.
	if got["a"] != 1 || got["b"] != 2 || got["c"] != 3 {
		t.Errorf("placed %v", got)
	}
	nodes = nodes[:2]
	res = Place(nodes, []*api.Container{old}, rs, WithServices(map[string]*api.Service{big.ID: big}))
	if want := "0 of 2 nodes: 1 lacks free CPU, 1 lacks free memory"; len(res.Unplaced) != 3 || res.Unplaced["r5"] != want {
		t.Errorf("unplaced %v, want 3 × %q", res.Unplaced, want)
	}
}

func TestStrategies(t *testing.T) {
	nodes := []*api.Node{
		deployed("a1", map[string]string{"az": "a"}), deployed("a2", map[string]string{"az": "a"}),
		deployed("a3", map[string]string{"az": "a"}), deployed("b1", map[string]string{"az": "b"}),
		deployed("c1", map[string]string{"zone": "c"}),
	}
	other := svc("other", "exec")
	busy := []*api.Container{running(other, 1, "b1"), running(other, 2, "b1"), running(other, 3, "c1")}
	place := func(strategy string, n int, seed uint64) map[string]int {
		s := svc("app", "exec")
		s.Spec.Strategy = strategy
		var rs []Request
		for i := range n {
			rs = append(rs, request(s, fmt.Sprint("r", i), i+1))
		}
		return perNode(Place(nodes, busy, rs, WithRand(rand.New(rand.NewPCG(seed, 0)))))
	}
	if got := place(api.StrategyEmptiestNode, 3, 0); fmt.Sprint(got) != "map[a1:1 a2:1 a3:1]" {
		t.Errorf("EMPTIEST_NODE: %v", got)
	}
	if got := place(api.StrategySpread, 3, 0); fmt.Sprint(got) != "map[a1:1 a2:1 a3:1]" {
		t.Errorf("spread: %v", got)
	}
	if got := place(api.StrategyHighAvailability, 3, 0); fmt.Sprint(got) != "map[a1:1 b1:1 c1:1]" {
		t.Errorf("HIGH_AVAILABILITY: %v", got)
	}
	if got := place(api.StrategyBinpack, 3, 0); fmt.Sprint(got) != "map[b1:3]" {
		t.Errorf("binpack: %v", got)
	}
	r1, r2 := place(api.StrategyRandom, 20, 1), place(api.StrategyRandom, 20, 1)
	if fmt.Sprint(r1) != fmt.Sprint(r2) || len(r1) < 3 {
		t.Errorf("random: %v then %v", r1, r2)
	}
}

func TestEligibleNodes(t *testing.T) {
	nodes := []*api.Node{deployed("a", map[string]string{"zone": "x"}), deployed("b", map[string]string{"zone": "y"}), deployed("c", map[string]string{"zone": "x"})}
	s := svc("app", "exec")
	s.Spec.Constraints = []string{"zone==x"}
	s.Spec.Affinities = []string{"service!=app"}
	s.Spec.Ports = []api.PortSpec{{ContainerPort: 80, HostPort: 80}}
	other := svc("web", "exec")
	other.Spec.Ports = s.Spec.Ports
	got, reason := EligibleNodes(nodes, []*api.Container{running(s, 1, "a"), running(other, 1, "c")}, s)
	if len(got) != 1 || got[0].ID != "a" || reason != "" {
		t.Errorf("eligible %v (%q), want only a: its own container does not count", got, reason)
	}
	got, reason = EligibleNodes(nodes[1:], []*api.Container{running(other, 1, "c")}, s)
	if len(got) != 0 || reason != "0 of 2 nodes: 1 fails zone==x, 1 has port 80 taken" {
		t.Errorf("eligible %v, reason %q", got, reason)
	}
}
