package gateway

import (
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

func netCtrFor(id, org, node, ip string, desired, state api.ContainerState, hc bool, health string) *api.Container {
	c := &api.Container{Meta: api.Meta{ID: id, Org: org}}
	c.Spec.Node, c.Spec.Desired = node, desired
	if hc {
		c.Spec.Healthcheck = &api.Healthcheck{Command: []string{"true"}}
	}
	c.Status.State, c.Status.Health = state, health
	c.Spec.Networks = []api.NetworkAttachment{{Network: "default.default", Name: "default", VNI: 4096, Subnet: "10.7.0.0/16",
		Gateway: "10.7.0.1", IP: ip, Names: []string{"S1-web", "web.s1"}, Aliases: []string{"s1-web-" + id, "web-" + id + ".s1"}, Stack: "s1"}}
	return c
}

func TestNetStateBuild(t *testing.T) {
	g := &Gateway{log: slog.New(slog.DiscardHandler)}
	n := newNetState(g)
	n.node("n1", &api.Node{Meta: api.Meta{ID: "n1"}, OverlayAddress: "192.0.2.1"})
	n.node("n2", &api.Node{Meta: api.Meta{ID: "n2"}, OverlayAddress: "192.0.2.2"})
	n.node("n3", &api.Node{Meta: api.Meta{ID: "n3"}}) // no overlay
	n.node("x1", &api.Node{Meta: api.Meta{ID: "x1", Org: "other"}, OverlayAddress: "192.0.2.9"})

	if !n.container("1", netCtrFor("1", "", "n1", "10.7.0.2", api.ContainerRunning, api.ContainerRunning, false, "")) {
		t.Fatal("a new container with an address changed nothing")
	}
	n.container("2", netCtrFor("2", "", "n2", "10.7.0.3", api.ContainerRunning, api.ContainerRunning, true, api.HealthStarting))
	// The old copy of slot 1 on a lost node: desired Terminated, same address.
	n.container("0", netCtrFor("0", "", "n2", "10.7.0.2", api.ContainerTerminated, api.ContainerRunning, false, ""))
	n.container("4", netCtrFor("4", "", "n3", "10.7.0.4", api.ContainerRunning, api.ContainerRunning, false, ""))
	n.container("9", netCtrFor("9", "other", "x1", "10.7.0.2", api.ContainerRunning, api.ContainerRunning, false, ""))
	// A status change that changes nothing the overlay needs.
	if n.container("1", netCtrFor("1", "", "n1", "10.7.0.2", api.ContainerRunning, api.ContainerRunning, false, "")) {
		t.Error("an unchanged container marked its organization dirty")
	}

	doc := n.build("default", 7)
	if len(doc.Networks) != 1 {
		t.Fatalf("networks = %+v", doc.Networks)
	}
	net := doc.Networks[0]
	want := []api.NetworkPeer{{Node: "n1", Address: "192.0.2.1", Endpoints: []string{"10.7.0.2"}},
		{Node: "n2", Address: "192.0.2.2", Endpoints: []string{"10.7.0.3"}}}
	if !slices.EqualFunc(net.Peers, want, func(a, b api.NetworkPeer) bool {
		return a.Node == b.Node && a.Address == b.Address && slices.Equal(a.Endpoints, b.Endpoints)
	}) {
		t.Errorf("peers = %+v, want %+v (the terminated copy and the node without an overlay left out)", net.Peers, want)
	}
	ips := func(name string) []string { v := slices.Clone(net.Names[name]); slices.Sort(v); return v }
	// Container 2 is not healthy yet: its service names leave it out, its own name has it.
	if got := ips("s1-web"); !slices.Equal(got, []string{"10.7.0.2", "10.7.0.4"}) {
		t.Errorf("s1-web = %v", got)
	}
	if got := ips("tasks.web.s1"); !slices.Equal(got, []string{"10.7.0.2", "10.7.0.4"}) {
		t.Errorf("tasks.web.s1 = %v", got)
	}
	if got := ips("s1-web-2"); !slices.Equal(got, []string{"10.7.0.3"}) {
		t.Errorf("s1-web-2 = %v", got)
	}
	if got := ips("s1-web-0"); got != nil {
		t.Errorf("a container desired Terminated has a name: %v", got)
	}
	if net.Scopes["10.7.0.3"] != "s1" {
		t.Errorf("scopes = %v", net.Scopes)
	}
	// Another organization's document holds only its own.
	other := n.build("other", 7)
	if len(other.Networks) != 1 || len(other.Networks[0].Peers) != 1 || other.Networks[0].Peers[0].Node != "x1" {
		t.Errorf("other org = %+v", other.Networks)
	}
	if _, err := json.Marshal(doc); err != nil {
		t.Fatal(err)
	}

	// Healthy now: it joins the service's names.
	if !n.container("2", netCtrFor("2", "", "n2", "10.7.0.3", api.ContainerRunning, api.ContainerRunning, true, api.HealthHealthy)) {
		t.Fatal("a container turning healthy changed nothing")
	}
	if got := n.build("default", 8).Networks[0].Names["web.s1"]; len(got) != 3 {
		t.Errorf("web.s1 = %v, want 3 addresses", got)
	}
	// Deleted: gone from peers.
	n.container("2", nil)
	if peers := n.build("default", 9).Networks[0].Peers; len(peers) != 1 {
		t.Errorf("peers after delete = %+v", peers)
	}
}

// TestNetStateContestedAddress: while a drain moves a slot, its old and
// new containers are both live with one address; the address is where
// the running one is, the newer once both run.
func TestNetStateContestedAddress(t *testing.T) {
	n := newNetState(&Gateway{log: slog.New(slog.DiscardHandler)})
	n.node("n1", &api.Node{Meta: api.Meta{ID: "n1"}, OverlayAddress: "192.0.2.1"})
	n.node("n2", &api.Node{Meta: api.Meta{ID: "n2"}, OverlayAddress: "192.0.2.2"})
	old := netCtrFor("a", "", "n1", "10.7.0.2", api.ContainerRunning, api.ContainerRunning, false, "")
	old.CreatedAt = time.Unix(100, 0)
	repl := netCtrFor("b", "", "n2", "10.7.0.2", api.ContainerRunning, api.ContainerStarting, false, "")
	repl.CreatedAt = time.Unix(200, 0)
	n.container("a", old)
	n.container("b", repl)
	where := func() string {
		peers := n.build("default", 1).Networks[0].Peers
		if len(peers) != 1 {
			t.Fatalf("peers = %+v, want the address on one node", peers)
		}
		return peers[0].Node
	}
	if got := where(); got != "n1" {
		t.Errorf("while the replacement starts the address is on %s, want n1 (the running one)", got)
	}
	repl.Status.State = api.ContainerRunning
	n.container("b", repl)
	if got := where(); got != "n2" {
		t.Errorf("once both run the address is on %s, want n2 (the newer)", got)
	}
}
