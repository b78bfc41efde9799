package overlay

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/wharfhq/wharf/api"
)

func TestNewNeedsAnAddressOfThisHost(t *testing.T) {
	a, _ := twoHosts(t)
	_, err := New(Config{Underlay: netip.MustParseAddr("10.250.9.9"), Netns: a.ns})
	if err == nil || !strings.Contains(err.Error(), "no interface of this host holds") {
		t.Fatalf("New with a foreign address: %v", err)
	}
}

// TestEnsureAdoptsABridge: a bridge that exists already (Docker's bridge
// driver made it for a Docker network, with the gateway and a container)
// is kept as it is and only gains the VXLAN device.
func TestEnsureAdoptsABridge(t *testing.T) {
	a, _ := twoHosts(t)
	att := api.NetworkAttachment{VNI: 300, Subnet: "10.9.0.0/24", Gateway: "10.9.0.1", IP: "10.9.0.2"}
	must(t, "docker's bridge", a.h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: BridgeName(300)}}))
	br, err := a.h.LinkByName(BridgeName(300))
	must(t, "bridge", err)
	addAddr(t, a.h, br, "10.9.0.1/24")
	must(t, "bridge up", a.h.LinkSetUp(br))
	must(t, "container port", a.h.LinkAdd(&netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: "dk0", MasterIndex: br.Attrs().Index}, PeerName: "dk1",
	}))

	name, err := a.m.Ensure(att)
	if err != nil || name != BridgeName(300) {
		t.Fatalf("Ensure = %q, %v", name, err)
	}
	after, err := a.h.LinkByName(name)
	must(t, "bridge after", err)
	if after.Attrs().Index != br.Attrs().Index {
		t.Fatal("the existing bridge was remade")
	}
	addrs, err := a.h.AddrList(after, netlink.FAMILY_V4)
	must(t, "addresses", err)
	if len(addrs) != 1 || !addrs[0].IP.Equal(net.ParseIP("10.9.0.1")) {
		t.Errorf("bridge addresses = %v, want only 10.9.0.1/24", addrs)
	}
	for _, port := range []string{"dk0", VXLANName(300)} {
		l, err := a.h.LinkByName(port)
		must(t, port, err)
		if l.Attrs().MasterIndex != br.Attrs().Index {
			t.Errorf("%s is not on the bridge", port)
		}
	}
	vx, err := a.h.LinkByName(VXLANName(300))
	must(t, "vxlan", err)
	v := vx.(*netlink.Vxlan)
	if v.VxlanId != 300 || v.Port != api.VXLANPort || v.Learning || !v.Proxy || !v.SrcAddr.Equal(net.ParseIP("10.250.0.1")) || v.MTU != a.m.MTU() {
		t.Errorf("vxlan device = %+v", v)
	}
	pi, err := a.h.LinkGetProtinfo(vx)
	must(t, "protinfo", err)
	if pi.Learning || !pi.NeighSuppress {
		t.Errorf("vxlan bridge port flags = %s, want learning off, neigh_suppress on", pi.String())
	}
	writes := a.m.writes
	if _, err := a.m.Ensure(att); err != nil {
		t.Fatal(err)
	}
	if a.m.writes != writes {
		t.Errorf("a second Ensure made %d changes", a.m.writes-writes)
	}

	// A bridge without the gateway gets it; one with a wrong VXLAN
	// device (VNI 301 under our name) gets it remade.
	must(t, "wrong vxlan", a.h.LinkDel(vx))
	must(t, "foreign vxlan", a.h.LinkAdd(&netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: VXLANName(300)}, VxlanId: 301, Port: api.VXLANPort, Learning: true}))
	must(t, "gateway del", a.h.AddrDel(after, &addrs[0]))
	if _, err := a.m.Ensure(att); err != nil {
		t.Fatal(err)
	}
	vx, err = a.h.LinkByName(VXLANName(300))
	must(t, "vxlan", err)
	if v := vx.(*netlink.Vxlan); v.VxlanId != 300 || v.Learning || v.MasterIndex != br.Attrs().Index {
		t.Errorf("vxlan device not remade: %+v", v)
	}
	if addrs, _ := a.h.AddrList(after, netlink.FAMILY_V4); len(addrs) != 1 {
		t.Errorf("gateway not added back: %v", addrs)
	}
}

// TestEnsureTakesADeviceMadeMeanwhile: two agents of one host (as `wharf
// up` runs them) ensure the same network at once; a bridge or VXLAN
// device the other made between this one's lookup and its creation is
// taken, not an error.
func TestEnsureTakesADeviceMadeMeanwhile(t *testing.T) {
	a, _ := twoHosts(t)
	other := newManager(t, a.ns, a.addr)
	att := api.NetworkAttachment{VNI: 310, Subnet: "10.9.1.0/24", Gateway: "10.9.1.1", IP: "10.9.1.2"}
	var raced []string
	a.m.beforeAdd = func(name string) {
		raced = append(raced, name)
		if _, err := other.Ensure(att); err != nil {
			t.Errorf("the other agent's Ensure: %v", err)
		}
	}
	if name, err := a.m.Ensure(att); err != nil || name != BridgeName(310) {
		t.Fatalf("Ensure with the bridge made meanwhile = %q, %v", name, err)
	}
	vx, err := a.h.LinkByName(VXLANName(310))
	must(t, "vxlan", err)
	must(t, "remove the vxlan", a.h.LinkDel(vx))
	if _, err := a.m.Ensure(att); err != nil {
		t.Fatalf("Ensure with the VXLAN device made meanwhile: %v", err)
	}
	if want := []string{BridgeName(310), VXLANName(310)}; strings.Join(raced, " ") != strings.Join(want, " ") {
		t.Errorf("devices created meanwhile: %v, want %v", raced, want)
	}
	br, err := a.h.LinkByName(BridgeName(310))
	must(t, "bridge", err)
	vx, err = a.h.LinkByName(VXLANName(310))
	must(t, "vxlan", err)
	if vx.Attrs().MasterIndex != br.Attrs().Index {
		t.Error("the VXLAN device is not on the bridge")
	}
}
