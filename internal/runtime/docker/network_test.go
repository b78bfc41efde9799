package docker

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	wrt "github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestNetworkAttach: two containers on a new overlay network get their
// slots' addresses and MACs on a Docker network bound to the named bridge
// (which Docker creates here), reach each other by address, keep their
// published ports, and have the network's resolver as DNS server.
func TestNetworkAttach(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	requireRoot(t) // entering a container's network namespace
	subnet := freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	bridge := "wxd" + randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net1))
	d := newDriver(t, "net-"+t.Name())

	var sts []wrt.Status
	var atts []wrt.Attachment
	for i, host := range []byte{10, 11} {
		a := attachment(net1, bridge, subnet, host)
		s := spec(image, fmt.Sprintf("net%d", i))
		s.Networks = []wrt.Attachment{a}
		st, err := d.Start(ctx20(t), s)
		if err != nil {
			t.Fatal(err)
		}
		sts, atts = append(sts, st), append(atts, a)
	}

	n, err := cli.NetworkInspect(ctx20(t), networkName(net1), client.NetworkInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Network.Driver != "bridge" || n.Network.Options[optBridgeName] != bridge || n.Network.Options[optMTU] != "1450" ||
		len(n.Network.IPAM.Config) != 1 || n.Network.IPAM.Config[0].Subnet != subnet || n.Network.IPAM.Config[0].Gateway != atts[0].Gateway ||
		n.Network.Labels[labelManaged] != "true" || n.Network.Labels[labelNetwork] != net1 {
		t.Errorf("Docker network: driver %s, options %v, IPAM %+v, labels %v; want bridge %s, MTU 1450, subnet %v, gateway %v, Wharf's labels",
			n.Network.Driver, n.Network.Options, n.Network.IPAM.Config, n.Network.Labels, bridge, subnet, atts[0].Gateway)
	}
	for i, st := range sts {
		checkEndpoint(t, cli, st.DriverID, atts[i])
	}
	// The host reaches each container through the bridge, which has the
	// gateway address; and through its published port.
	for i, st := range sts {
		httpGet(t, nil, "http://"+netip.AddrPortFrom(atts[i].Address.Addr(), 8080).String()+"/")
		if st.HostPort == 0 {
			t.Errorf("container %d: no published port", i)
			continue
		}
		httpGet(t, nil, fmt.Sprintf("http://127.0.0.1:%d/", st.HostPort))
	}
	// The first container reaches the second by its address.
	in, err := cli.ContainerInspect(ctx20(t), sts[0].DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := httpGet(t, inNetns(in.Container.State.Pid), "http://"+netip.AddrPortFrom(atts[1].Address.Addr(), 8080).String()+"/")
	if !strings.Contains(got, "web-1") {
		t.Errorf("from the first container, the second answers %q, want its hello", got)
	}

	// A restarted agent (a new driver) adopts the running containers.
	d2, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	d2.SetNode("net-" + t.Name())
	s := spec(image, "net0")
	s.Networks = []wrt.Attachment{atts[0]}
	st, err := d2.Start(ctx20(t), s)
	if err != nil || st.DriverID != sts[0].DriverID {
		t.Errorf("Start of the same spec by a new driver = %s, %v; want the running container %s", st.DriverID, err, sts[0].DriverID)
	}
}

// TestNetworkPreexistingBridge: the agent's overlay may make the bridge,
// with the gateway address, before Docker: the network then uses it, the
// bridge keeps its address, and outlives the network.
func TestNetworkPreexistingBridge(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	requireRoot(t)
	subnet := freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	bridge := "wxp" + randHex(4)
	a := attachment(net1, bridge, subnet, 20)
	gw := netip.PrefixFrom(a.Gateway, subnet.Bits()).String()
	ipCmd(t, "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	ipCmd(t, "addr", "add", gw, "dev", bridge)
	ipCmd(t, "link", "set", bridge, "up")
	removeNetworkAtEnd(t, cli, networkName(net1))
	d := newDriver(t, "netpre-"+t.Name())

	s := spec(image, "pre1")
	s.Networks = []wrt.Attachment{a}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	checkEndpoint(t, cli, st.DriverID, a)
	httpGet(t, nil, "http://"+netip.AddrPortFrom(a.Address.Addr(), 8080).String()+"/")
	if addrs := bridgeAddrs(t, bridge); len(addrs) != 1 || addrs[0] != gw {
		t.Errorf("bridge %s has addresses %v, want only %s", bridge, addrs, gw)
	}

	// Run again once exited: the same container, with the same address.
	if err := d.Stop(ctx20(t), s.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	again, err := d.Start(ctx20(t), s)
	if err != nil || again.DriverID != st.DriverID {
		t.Fatalf("Start after Stop = %s, %v; want container %s started again", again.DriverID, err, st.DriverID)
	}
	checkEndpoint(t, cli, again.DriverID, a)
	httpGet(t, nil, "http://"+netip.AddrPortFrom(a.Address.Addr(), 8080).String()+"/")

	// Removing the container and the network (by hand: the driver never
	// does) leaves the overlay's bridge in place.
	if err := d.Remove(ctx20(t), s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.NetworkRemove(ctx20(t), networkName(net1), client.NetworkRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if addrs := bridgeAddrs(t, bridge); len(addrs) != 1 || addrs[0] != gw {
		t.Errorf("after docker network rm, bridge %s has addresses %v, want it kept with %s", bridge, addrs, gw)
	}
}

// TestNetworkConflicts: a Docker network of the name with another subnet,
// or another network overlapping the subnet, fails Start saying which,
// and leaves no container behind.
func TestNetworkConflicts(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	d := newDriver(t, "netbad-"+t.Name())

	mine, other := freeSubnet(t, cli), freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net1))
	makeNetwork(t, cli, networkName(net1), other)
	s := spec(image, "bad1")
	s.Networks = []wrt.Attachment{attachment(net1, "", mine, 5)}
	_, err := d.Start(ctx20(t), s)
	if err == nil || !strings.Contains(err.Error(), "Docker network "+networkName(net1)+" exists") || !strings.Contains(err.Error(), other.String()) {
		t.Errorf("Start with a same-named network of another subnet: %v, want an error naming it and its subnet", err)
	}

	net2, plain := "t"+randHex(4), "wxt-other-"+randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net2))
	removeNetworkAtEnd(t, cli, plain)
	makeNetwork(t, cli, plain, mine)
	half := netip.PrefixFrom(mine.Addr(), 25)
	s = spec(image, "bad2")
	s.Networks = []wrt.Attachment{attachment(net2, "", half, 5)}
	_, err = d.Start(ctx20(t), s)
	if err == nil || !strings.Contains(err.Error(), "overlaps Docker network "+plain) {
		t.Errorf("Start with an overlapping subnet: %v, want an error naming %s", err, plain)
	}
	if list, err := d.List(ctx20(t)); err != nil || len(list) != 0 {
		t.Errorf("List after refused starts = %v, %v; want nothing", list, err)
	}
}

// TestNetworkSecondAttachment: a container on two networks gets an
// interface with its address and MAC on each, or, on an engine below API
// 1.44, a clear refusal.
func TestNetworkSecondAttachment(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	d := newDriver(t, "net2-"+t.Name())
	var atts []wrt.Attachment
	for range 2 {
		n := "t" + randHex(4)
		removeNetworkAtEnd(t, cli, networkName(n))
		atts = append(atts, attachment(n, "wxs"+randHex(4), freeSubnet(t, cli), 7))
	}
	s := spec(image, "two1")
	s.Networks = atts
	st, err := d.Start(ctx20(t), s)
	if d.legacyMAC() {
		if err == nil || !strings.Contains(err.Error(), "upgrade Docker to 25") {
			t.Errorf("Start on two networks with API %s: %v, want a refusal saying to upgrade", d.cli.ClientVersion(), err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		checkEndpoint(t, cli, st.DriverID, a)
	}
}
