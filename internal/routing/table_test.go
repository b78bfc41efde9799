package routing

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func svc(id, name string, age int, spec api.ServiceSpec) *api.Service {
	spec.Running = true
	return &api.Service{Meta: api.Meta{ID: id, Name: name, CreatedAt: t0.Add(time.Duration(age) * time.Hour)}, Spec: spec}
}

// ctr is a running container of service s on node, its container port
// 80 published on hostPort (none when 0).
func ctr(id, name, s, node string, slot, hostPort int, tune ...func(*api.Container)) *api.Container {
	c := &api.Container{Meta: api.Meta{ID: id, Name: name},
		Spec:   api.ContainerSpec{Service: s, Slot: slot, Node: node, Driver: "docker", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	if hostPort != 0 {
		c.Status.Ports = []api.PortBinding{{ContainerPort: 80, HostPort: hostPort, Protocol: "tcp"}}
	}
	for _, f := range tune {
		f(c)
	}
	return c
}

func node(id, name, addr string, state api.NodeState, labels map[string]string) *api.Node {
	return &api.Node{Meta: api.Meta{ID: id, Name: name}, Address: addr, State: state, Labels: labels}
}

// fixture is an organization with routes of every kind and containers
// in every state.
func fixture() Inputs {
	web := svc("s-web", "web", 0, api.ServiceSpec{Image: "nginx", Ports: ports(80), Routes: []api.Route{
		{Host: "a.io"}, {Host: "*.a.io"}, {Host: "*"}, {Host: "a.io", Path: "/api/v1"}, {Host: "*.x.a.io"}, {Protocol: "https", Host: "a.io"},
	}, RouteOptions: api.RouteOptions{Certificate: "a-cert", Balance: "leastconn"}})
	// Newer, and claims a.io too.
	blog := svc("s-blog", "blog", 1, api.ServiceSpec{Image: "ghost", Ports: ports(80), Routes: []api.Route{{Host: "a.io"}, {Host: "blog.a.io", Path: "/x"}},
		RouteOptions: api.RouteOptions{Weight: 5}})
	shop := svc("s-shop", "shop", 2, api.ServiceSpec{Image: "shop", Ports: ports(80), Routes: []api.Route{
		{Protocol: "https", Host: "shop.io"}, {Protocol: "https", Host: "*.shop.io"}, {Protocol: "https", Host: "pay.io"}},
		Env: map[string]string{"TCP_PORTS": "9999"}}) // explicit routes win: no tcp://9999
	shop.Spec.Ports = append(shop.Spec.Ports, api.PortSpec{ContainerPort: 80, HostPort: 8080, Mode: api.PortModeIngress})
	missing := svc("s-miss", "missing", 3, api.ServiceSpec{Image: "m", Ports: ports(80), Routes: []api.Route{{Protocol: "https", Host: "m.io"}},
		RouteOptions: api.RouteOptions{Certificate: "nope"}})
	app := svc("s-app", "app", 4, api.ServiceSpec{Command: []string{"./app"}, Env: map[string]string{"VIRTUAL_HOST": "app.io", "SSL_CERT": "PEM"},
		Routes: nil})
	gone := svc("s-gone", "gone", 5, api.ServiceSpec{Image: "g", Ports: ports(80), Routes: []api.Route{{Host: "g.io"}}})
	gone.Terminating = true
	broken := svc("s-broken", "broken", 6, api.ServiceSpec{Image: "b", Ports: ports(80, 81), Routes: []api.Route{{Host: "b.io"}}})
	return Inputs{
		Services: []*api.Service{blog, web, shop, missing, app, gone, broken},
		Nodes: []*api.Node{
			node("n1", "one", "10.0.0.1", api.NodeDeployed, map[string]string{api.RouterLabel: "true"}),
			node("n2", "two", "10.0.0.2", api.NodeDeployed, map[string]string{api.RouterLabel: "false"}),
			node("n3", "three", "10.0.0.3", api.NodeUnreachable, map[string]string{api.RouterLabel: ""}),
			node("n4", "four", "", api.NodeDeployed, nil),
		},
		Containers: []*api.Container{
			ctr("c-web-2", "web-2", "s-web", "n2", 2, 32002),
			ctr("c-web-1", "web-1", "s-web", "n1", 1, 32001),
			ctr("c-web-3", "web-3", "s-web", "n3", 3, 32003),
			ctr("c-web-4", "web-4", "s-web", "n4", 4, 32004),
			ctr("c-web-5", "web-5", "s-web", "n1", 5, 0),
			ctr("c-web-6", "web-6", "s-web", "n1", 6, 32006, func(c *api.Container) { c.Spec.Desired = api.ContainerStopped }),
			ctr("c-web-7", "web-7", "s-web", "n1", 7, 32007, func(c *api.Container) {
				c.Spec.Healthcheck = &api.Healthcheck{HTTP: "/"}
				c.Status.Health = api.HealthStarting
			}),
			ctr("c-web-8", "web-8", "s-web", "", 8, 0, func(c *api.Container) { c.Status.State = api.ContainerPending }),
			ctr("c-web-9", "web-9", "s-web", "n2", 9, 0, func(c *api.Container) {
				c.Status.Ports = []api.PortBinding{{ContainerPort: 80, HostPort: 32009, Protocol: "tcp", HostIP: "192.168.1.9"}}
			}),
			ctr("c-blog-1", "blog-1", "s-blog", "n1", 1, 33001),
			ctr("c-shop-1", "shop-1", "s-shop", "n2", 1, 34001),
			ctr("c-app-1", "app-1", "s-app", "n1", 1, 0, func(c *api.Container) { c.Spec.Driver = "exec"; c.Status.HostPort = 40001 }),
			ctr("c-app-2", "app-2", "s-app", "n1", 2, 0, func(c *api.Container) { c.Spec.Driver = "exec" }),
			ctr("c-gone-1", "gone-1", "s-gone", "n1", 1, 35001),
		},
		Secrets: map[string]string{"a-cert": "A-PEM", "other": "O"},
		ACME:    &api.ACMEConfig{Directory: "https://acme.test/dir", Email: "ops@a.io"},
	}
}

func TestTable(t *testing.T) {
	in := fixture()
	tab := Table(in, 42)
	webBackends := []api.Backend{
		{Container: "c-web-1", Node: "n1", Address: "10.0.0.1:32001"},
		{Container: "c-web-2", Node: "n2", Address: "10.0.0.2:32002"},
		{Container: "c-web-9", Node: "n2", Address: "192.168.1.9:32009"},
	}
	webOpts := api.RouteOptions{Balance: "leastconn"}
	webTLS := api.RouteOptions{Balance: "leastconn", Certificate: "a-cert"}
	blogBackends := []api.Backend{{Container: "c-blog-1", Node: "n1", Address: "10.0.0.1:33001"}}
	shopBackends := []api.Backend{{Container: "c-shop-1", Node: "n2", Address: "10.0.0.2:34001"}}
	appBackends := []api.Backend{{Container: "c-app-1", Node: "n1", Address: "10.0.0.1:40001"}}
	want := &api.RouteTable{Revision: 42, Router: true,
		HTTP: []api.HTTPRoute{
			// exact hosts: longer first, then by name
			{Service: "s-blog", Name: "blog", Host: "blog.a.io", Path: "/x", RouteOptions: api.RouteOptions{Weight: 5}, Backends: blogBackends},
			{Service: "s-shop", Name: "shop", TLS: true, Host: "shop.io", Path: "/", Backends: shopBackends},
			{Service: "s-app", Name: "app", Host: "app.io", Path: "/", Backends: appBackends},
			{Service: "s-shop", Name: "shop", TLS: true, Host: "pay.io", Path: "/", Backends: shopBackends},
			// a.io: longer path first, then plain HTTP before HTTPS
			{Service: "s-web", Name: "web", Host: "a.io", Path: "/api/v1", RouteOptions: webOpts, Backends: webBackends},
			{Service: "s-web", Name: "web", Host: "a.io", Path: "/", RouteOptions: webOpts, Backends: webBackends},
			{Service: "s-web", Name: "web", TLS: true, Host: "a.io", Path: "/", Certificate: "a-cert", RouteOptions: webTLS, Backends: webBackends},
			// wildcards, longer first; then "*"
			{Service: "s-web", Name: "web", Host: "*.x.a.io", Path: "/", RouteOptions: webOpts, Backends: webBackends},
			{Service: "s-web", Name: "web", Host: "*.a.io", Path: "/", RouteOptions: webOpts, Backends: webBackends},
			{Service: "s-web", Name: "web", Host: "*", Path: "/", RouteOptions: webOpts, Backends: webBackends},
		},
		TCP:          []api.TCPRoute{{Service: "s-shop", Name: "shop", Listen: 8080, Backends: shopBackends}},
		Certificates: []api.RouteCertificate{{Secret: "a-cert", PEM: "A-PEM"}},
		ACME:         &api.ACMEConfig{Directory: "https://acme.test/dir", Email: "ops@a.io", Hosts: []string{"pay.io", "shop.io"}},
	}
	if !reflect.DeepEqual(tab, want) {
		g, _ := json.MarshalIndent(tab, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("table:\n%s\nwant:\n%s", g, w)
	}
	// The input is not changed: the ACME settings are copied.
	if in.ACME.Hosts != nil {
		t.Errorf("Table wrote into its input's ACME: %+v", in.ACME)
	}
}

// TestTableACMEAndEnvCert: without an ACME directory an https route
// without a certificate is left out; SSL_CERT is a certificate of its own.
func TestTableACMEAndEnvCert(t *testing.T) {
	in := Inputs{
		Services: []*api.Service{
			svc("s1", "web", 0, api.ServiceSpec{Image: "x", Ports: ports(80), Env: map[string]string{"VIRTUAL_HOST": "https://a.io, b.io", "SSL_CERT": `KEY\nCERT`}}),
			svc("s2", "shop", 1, api.ServiceSpec{Image: "x", Ports: ports(80), Routes: []api.Route{{Protocol: "https", Host: "shop.io"}, {Host: "shop.io"}}}),
		},
		Nodes:      []*api.Node{node("n1", "one", "10.0.0.1", api.NodeDeployed, nil)},
		Containers: []*api.Container{ctr("c1", "web-1", "s1", "n1", 1, 30001)},
	}
	tab := Table(in, 7)
	if tab.ACME != nil || len(tab.Certificates) != 1 || tab.Certificates[0] != (api.RouteCertificate{Secret: "env:s1", PEM: "KEY\nCERT"}) {
		t.Errorf("certificates %+v, ACME %+v", tab.Certificates, tab.ACME)
	}
	var got []string
	for _, h := range tab.HTTP {
		got = append(got, h.Name+" "+h.Host+" "+h.Certificate+" "+strings.Repeat("tls", boolRank(h.TLS))+" "+string(rune('0'+len(h.Backends))))
	}
	want := []string{"shop shop.io   0", "web a.io env:s1 tls 1", "web b.io   1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}
	// An empty organization: a table all the same, with no routes.
	if e := Table(Inputs{}, 1); !e.Router || e.Revision != 1 || e.HTTP != nil || e.TCP != nil {
		t.Errorf("empty table %+v", e)
	}
}

func TestStatus(t *testing.T) {
	st := Status(fixture())
	wantNodes := []api.RouterNode{{ID: "n1", Name: "one", State: api.NodeDeployed}, {ID: "n3", Name: "three", State: api.NodeUnreachable}}
	if !reflect.DeepEqual(st.Nodes, wantNodes) {
		t.Errorf("router nodes %+v, want %+v", st.Nodes, wantNodes)
	}
	var got []string
	for _, r := range st.Routes {
		ready := 0
		for _, b := range r.Backends {
			if b.Ready {
				ready++
			}
		}
		got = append(got, r.Service+" | "+r.Route+" | "+string(rune('0'+ready))+"/"+string(rune('0'+len(r.Backends)))+" | "+r.Problem)
	}
	want := []string{
		"app | app.io | 1/2 | ",
		"blog | a.io:80 | 0/1 | service web (older) has this route: one service per host and path (or tcp port); remove the route from one of them",
		"blog | blog.a.io/x:80 | 1/1 | ",
		"broken |  | 0/0 | spec.routes[0]: route b.io: which container port? the service has 80, 81: name one in the route, as --route b.io:8080 (host/path:PORT), or leave the others out with EXCLUDE_PORTS",
		"missing | https://m.io:80 | 0/0 | certificate secret \"nope\" not found: create it with the PEM certificate and key (wharf secret create nope FILE)",
		"shop | https://shop.io:80 | 1/1 | ",
		"shop | https://*.shop.io:80 | 0/1 | no certificate: ACME gets none for a wildcard host; name a secret that holds one (--route-cert)",
		"shop | https://pay.io:80 | 1/1 | ",
		"shop | tcp://8080:80 | 1/1 | ",
		"web | a.io:80 | 3/9 | ",
		"web | *.a.io:80 | 3/9 | ",
		"web | *:80 | 3/9 | ",
		"web | a.io/api/v1:80 | 3/9 | ",
		"web | *.x.a.io:80 | 3/9 | ",
		"web | https://a.io:80 | 3/9 | ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each of web's containers, ready or why not.
	var states []string
	for _, b := range st.Routes[len(st.Routes)-1].Backends {
		states = append(states, b.Container+" "+b.Node+" "+b.Address+" "+b.Status)
	}
	wantStates := []string{
		"web-1 one 10.0.0.1:32001 Running",
		"web-2 two 10.0.0.2:32002 Running",
		"web-3 three  Running (node three is Unreachable)",
		"web-4 four  Running (node four has no address for routers (its agent predates routing, or sent none))",
		"web-5 one  Running (port 80 not published)",
		"web-6 one  Running (leaving: desired stopped)",
		"web-7 one  Running (health starting)",
		"web-8   Pending",
		"web-9 two 192.168.1.9:32009 Running",
	}
	if !reflect.DeepEqual(states, wantStates) {
		t.Errorf("backends:\n%s\nwant:\n%s", strings.Join(states, "\n"), strings.Join(wantStates, "\n"))
	}
	if st := Status(Inputs{}); st.Nodes == nil || st.Routes == nil {
		t.Errorf("an empty status has nil lists (JSON null): %+v", st)
	}
}
