package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestRouteCommands: --route and the route options on service create,
// --route-add, --route-rm and the options on service update, against a
// real server; then router ls, its -v and its JSON.
func TestRouteCommands(t *testing.T) {
	conn, st := realServerStore(t)
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append(append([]string{}, conn...), args...)...)
	}
	inspect := func() api.Service {
		t.Helper()
		var svc api.Service
		if err := json.Unmarshal([]byte(mustRun(t, run, "service", "inspect", "web")), &[]*api.Service{&svc}); err != nil {
			t.Fatal(err)
		}
		return svc
	}
	if _, _, err := run("service", "create", "--detach", "--name", "web", "--route", "a.io:8o", "--", "sleep", "60"); err == nil ||
		!strings.Contains(err.Error(), `--route: route "a.io:8o": port "8o" must be a number from 1 to 65535; e.g. app.example.com/api:8080`) {
		t.Errorf("a bad --route: %v", err)
	}
	if _, _, err := run("service", "create", "--detach", "--name", "web", "--route", "a.io", "--route-drain", "soon", "--", "sleep", "60"); err == nil ||
		!strings.Contains(err.Error(), `--route-drain "soon"`) {
		t.Errorf("a bad --route-drain: %v", err)
	}
	// The server's refusals come through, by field.
	if _, _, err := run("service", "create", "--detach", "--name", "web", "--route", "a.io", "--route-balance", "random", "--", "sleep", "60"); err == nil ||
		!strings.Contains(err.Error(), "spec.route_options.balance") {
		t.Errorf("a bad --route-balance: %v", err)
	}
	mustRun(t, run, "service", "create", "--detach", "--name", "web", "--route", "A.io", "--route", "wss://a.io/ws/", "--route", "tcp://2222",
		"--route-cert", "a-cert", "--route-force-ssl", "--route-check", "/healthz", "--route-drain", "5s", "--route-cookie", "SRV",
		"--route-proxy-protocol", "V2", "--route-weight", "3", "--", "sleep", "60")
	svc := inspect()
	wantRoutes := []api.Route{{Protocol: "http", Host: "a.io"}, {Protocol: "https", Host: "a.io", Path: "/ws"}, {Protocol: "tcp", Listen: 2222}}
	wantOpts := api.RouteOptions{Cookie: "SRV", ForceSSL: true, HTTPCheck: "/healthz", ProxyProtocol: "v2", Certificate: "a-cert", Weight: 3, Drain: 5000}
	if !equalRoutes(svc.Spec.Routes, wantRoutes) || svc.Spec.RouteOptions != wantOpts {
		t.Fatalf("created with routes %+v, options %+v", svc.Spec.Routes, svc.Spec.RouteOptions)
	}

	if _, _, err := run("service", "update", "web", "--route-rm", "b.io"); err == nil ||
		!strings.Contains(err.Error(), `--route-rm "b.io": the service has no such route; its routes: a.io, https://a.io/ws, tcp://2222`) {
		t.Errorf("--route-rm of a route the service lacks: %v", err)
	}
	mustRun(t, run, "service", "update", "web", "--detach", "--route-add", "b.io/api", "--route-add", "tcp://3333", "--route-rm", "a.io", "--route-rm", "tcp://2222",
		"--route-balance", "leastconn", "--route-force-ssl=false")
	svc = inspect()
	wantRoutes = []api.Route{{Protocol: "https", Host: "a.io", Path: "/ws"}, {Protocol: "http", Host: "b.io", Path: "/api"}, {Protocol: "tcp", Listen: 3333}}
	wantOpts.Balance, wantOpts.ForceSSL = "leastconn", false
	if !equalRoutes(svc.Spec.Routes, wantRoutes) || svc.Spec.RouteOptions != wantOpts {
		t.Fatalf("updated to routes %+v, options %+v", svc.Spec.Routes, svc.Spec.RouteOptions)
	}

	// One router node, one ready container of web.
	ctx := context.Background()
	for _, n := range []*api.Node{
		{Meta: api.Meta{ID: "n1", Name: "edge"}, State: api.NodeDeployed, Address: "10.1.0.1", Labels: map[string]string{api.RouterLabel: "true"}},
		{Meta: api.Meta{ID: "n2", Name: "worker"}, State: api.NodeDeployed, Address: "10.1.0.2"},
	} {
		if err := st.Create(ctx, "nodes", n); err != nil {
			t.Fatal(err)
		}
	}
	c := &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: svc.ID, Slot: 1, Node: "n2", Driver: "exec", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerRunning, HostPort: 30001}}
	if err := st.Create(ctx, "containers", c); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, run, "router", "ls")
	want := []string{
		"ROUTERS: edge (Deployed)",
		"",
		"SERVICE ROUTE BACKENDS PROBLEM",
		`web https://a.io/ws 0/1 certificate secret "a-cert" not found: create it with the PEM certificate and key (wharf secret create a-cert FILE)`,
		"web b.io/api 1/1",
		"web tcp://3333 1/1",
	}
	if got := fieldsOf(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("router ls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	out = mustRun(t, run, "router", "ls", "-v")
	if !strings.Contains(strings.Join(fieldsOf(out), "\n"), "SERVICE ROUTE CONTAINER NODE ADDRESS STATE\nweb https://a.io/ws web-1 worker - Running\nweb b.io/api web-1 worker 10.1.0.2:30001 Running") {
		t.Errorf("router ls -v:\n%s", out)
	}
	var status api.RouterStatus
	if err := json.Unmarshal([]byte(mustRun(t, run, "router", "ls", "--format", "json")), &status); err != nil || len(status.Nodes) != 1 || len(status.Routes) != 3 {
		t.Errorf("router ls --format json: %+v %v", status, err)
	}
}

// fieldsOf is out's lines with their blanks squeezed.
func fieldsOf(out string) []string {
	var lines []string
	for line := range strings.Lines(strings.TrimRight(out, "\n")) {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	return lines
}

func equalRoutes(a, b []api.Route) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
