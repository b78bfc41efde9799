package routing

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// bigOrg is an organization of services services with three routes and
// ten containers each, on twenty nodes.
func bigOrg(services int) Inputs {
	var in Inputs
	for n := range 20 {
		in.Nodes = append(in.Nodes, node(fmt.Sprintf("n%d", n), fmt.Sprintf("node-%d", n), fmt.Sprintf("10.0.0.%d", n+1), api.NodeDeployed, nil))
	}
	for s := range services {
		id := fmt.Sprintf("s%d", s)
		in.Services = append(in.Services, svc(id, fmt.Sprintf("svc-%d", s), s, api.ServiceSpec{Image: "x", Ports: ports(80),
			Routes: []api.Route{{Host: fmt.Sprintf("app%d.example.com", s)}, {Host: "*.example.com", Path: fmt.Sprintf("/s%d", s)}, {Protocol: "https", Host: fmt.Sprintf("app%d.example.com", s)}}}))
		for c := range 10 {
			in.Containers = append(in.Containers, ctr(fmt.Sprintf("%s-c%d", id, c), fmt.Sprintf("svc-%d-%d", s, c), id, fmt.Sprintf("n%d", (s+c)%20), c+1, 30000+c))
		}
	}
	in.ACME = &api.ACMEConfig{Directory: "https://acme.test/dir"}
	return in
}

// BenchmarkTable reports the time to build the route table of an
// organization of 500 services (1,500 routes, 5,000 containers): the
// gateway builds one at every change of the organization.
func BenchmarkTable(b *testing.B) {
	in := bigOrg(500)
	b.ReportAllocs()
	for b.Loop() {
		if t := Table(in, 1); len(t.HTTP) != 1500 {
			b.Fatalf("%d http routes", len(t.HTTP))
		}
	}
}

// BenchmarkStatus is the same organization's `wharf router ls`.
func BenchmarkStatus(b *testing.B) {
	in := bigOrg(500)
	b.ReportAllocs()
	for b.Loop() {
		if st := Status(in); len(st.Routes) != 1500 {
			b.Fatalf("%d routes", len(st.Routes))
		}
	}
}
