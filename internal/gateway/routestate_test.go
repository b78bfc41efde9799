package gateway

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// routedCtr is a running container of service svc on node with its port
// 8080 published on hostPort.
func routedCtr(id, org, svc, node string, hostPort int, desired api.ContainerState) *api.Container {
	return &api.Container{Meta: api.Meta{ID: id, Name: id, Org: org},
		Spec:   api.ContainerSpec{Service: svc, Node: node, Desired: desired, Driver: "docker"},
		Status: api.ContainerStatus{State: api.ContainerRunning, Ports: []api.PortBinding{{ContainerPort: 8080, HostPort: hostPort, Protocol: "tcp"}}}}
}

// TestRouteStateBuild: a routed service's ready containers are the
// backends of its route in its organization's table; a container to be
// stopped, another organization's and an unrouted service's are not; a
// container change of a routed service marks its organization dirty, one
// of an unrouted service does not; a node that loses the router label is
// retired.
func TestRouteStateBuild(t *testing.T) {
	g := &Gateway{log: slog.New(slog.DiscardHandler)}
	g.assign = newAssigner(g)
	r := newRouteState(g)
	g.routes = r
	router := map[string]string{api.RouterLabel: "true"}
	r.node("n1", &api.Node{Meta: api.Meta{ID: "n1", Name: "node-1"}, State: api.NodeDeployed, Address: "192.0.2.1", Labels: router})
	r.node("n2", &api.Node{Meta: api.Meta{ID: "n2", Name: "node-2"}, State: api.NodeDeployed, Address: "192.0.2.2"})
	r.node("x1", &api.Node{Meta: api.Meta{ID: "x1", Org: "other"}, State: api.NodeDeployed, Address: "192.0.2.9", Labels: router})
	web := &api.Service{Meta: api.Meta{ID: "s1", Name: "web"}, Spec: api.ServiceSpec{Image: "img",
		Routes: []api.Route{{Host: "web.test", Port: 8080}}}}
	plain := &api.Service{Meta: api.Meta{ID: "s2", Name: "plain"}, Spec: api.ServiceSpec{Image: "img"}}
	r.service(web.ID, web)
	r.service(plain.ID, plain)
	clear(r.dirty)

	ctrs := []*api.Container{
		routedCtr("c1", "", "s1", "n1", 31001, api.ContainerRunning),
		routedCtr("c2", "", "s1", "n2", 31002, api.ContainerRunning),
		routedCtr("c3", "", "s1", "n2", 31003, api.ContainerStopped), // being stopped: drained
		routedCtr("c4", "", "s2", "n2", 31004, api.ContainerRunning), // not routed
	}
	for _, c := range ctrs {
		g.assign.byNode[c.Spec.Node] = map[string]*api.Container{}
	}
	for _, c := range ctrs {
		g.assign.byNode[c.Spec.Node][c.ID] = c
		dirty := r.container(c, nil)
		if want := c.Spec.Service == "s1"; dirty != want {
			t.Errorf("container %s of %s marked its organization dirty: %v, want %v", c.ID, c.Spec.Service, dirty, want)
		}
	}
	ref := r.build("default", 9)
	var tab api.RouteTable
	if err := json.Unmarshal(ref.body, &tab); err != nil {
		t.Fatal(err)
	}
	if !tab.Router || tab.Revision != 9 || len(tab.HTTP) != 1 || len(tab.TCP) != 0 {
		t.Fatalf("table = %+v, want one http route, Router, revision 9", tab)
	}
	got := map[string]string{}
	for _, b := range tab.HTTP[0].Backends {
		got[b.Container] = b.Address
	}
	want := map[string]string{"c1": "192.0.2.1:31001", "c2": "192.0.2.2:31002"}
	if len(got) != len(want) || got["c1"] != want["c1"] || got["c2"] != want["c2"] {
		t.Errorf("backends = %v, want %v", got, want)
	}
	if tab.HTTP[0].Host != "web.test" || tab.HTTP[0].Name != "web" {
		t.Errorf("route = %+v", tab.HTTP[0])
	}
	if other := r.build("other", 9); other == nil {
		t.Fatal("no table for the other organization")
	} else if ot := (api.RouteTable{}); json.Unmarshal(other.body, &ot) != nil || len(ot.HTTP) != 0 {
		t.Errorf("the other organization's table has routes: %+v", ot.HTTP)
	}

	// The router label goes: the node is retired once, at the next flush.
	r.flush(10)
	if !r.routers["n1"] {
		t.Fatal("n1 was not sent a table")
	}
	r.node("n1", &api.Node{Meta: api.Meta{ID: "n1", Name: "node-1"}, State: api.NodeDeployed, Address: "192.0.2.1"})
	r.flush(11)
	if r.routers["n1"] {
		t.Error("n1 lost its label but is still counted a router")
	}
}
