package docker

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"

	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// TestCheckAttachments: attachments the engine could not use are refused
// before anything is made.
func TestCheckAttachments(t *testing.T) {
	good := attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 9)
	for name, mod := range map[string]func(*wrt.Attachment){
		"no name":         func(a *wrt.Attachment) { a.Network = "" },
		"bad name":        func(a *wrt.Attachment) { a.Network = "a b" },
		"no address":      func(a *wrt.Attachment) { a.Address = netip.Prefix{} },
		"IPv6 address":    func(a *wrt.Attachment) { a.Address = netip.MustParsePrefix("fd00::5/64") },
		"gateway outside": func(a *wrt.Attachment) { a.Gateway = netip.MustParseAddr("10.8.0.1") },
		"gateway is self": func(a *wrt.Attachment) { a.Gateway = a.Address.Addr() },
		"bad MAC":         func(a *wrt.Attachment) { a.MAC = "02:77" },
		"tiny MTU":        func(a *wrt.Attachment) { a.MTU = 100 },
		"long bridge":     func(a *wrt.Attachment) { a.Bridge = "a-very-long-bridge-name" },
	} {
		a := good
		mod(&a)
		if err := checkAttachments(wrt.Spec{ID: "c1", Networks: []wrt.Attachment{a}}); err == nil {
			t.Errorf("%s: accepted %+v", name, a)
		}
	}
	if err := checkAttachments(wrt.Spec{ID: "c1", Networks: []wrt.Attachment{good}}); err != nil {
		t.Errorf("a good attachment: %v", err)
	}
	if err := checkAttachments(wrt.Spec{ID: "c1", Networks: []wrt.Attachment{good, good}}); err == nil {
		t.Error("the same network twice: accepted")
	}
}

// TestSpecHashNetworks: attachments are in the spec hash (a moved address
// is a new container); a spec without them hashes as before (see
// TestSpecHashUnchanged).
func TestSpecHashNetworks(t *testing.T) {
	s := wrt.Spec{ID: "c1", Name: "web-1", Service: "web", Slot: 1, Node: "n1", Image: "img", Command: []string{"serve"}}
	if got := specHash(s); got != "7d841e7933b5e0d9aeeb7519" {
		t.Fatalf("specHash without networks = %s, want the old hash", got)
	}
	with := s
	with.Networks = []wrt.Attachment{attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 9)}
	moved := s
	moved.Networks = []wrt.Attachment{attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 10)}
	if specHash(with) == specHash(s) || specHash(with) == specHash(moved) {
		t.Error("the spec hash does not change with the attachments")
	}
}

// TestWithConfigMAC: for engines below API 1.44 the primary network's MAC
// goes into the container's configuration, and nothing else changes.
func TestWithConfigMAC(t *testing.T) {
	in := `{"Image":"img","HostConfig":{"NetworkMode":"wharf-a"},"NetworkingConfig":{"EndpointsConfig":{"wharf-a":{"MacAddress":"02:77:0a:07:00:09"}}}}`
	out, err := withConfigMAC([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got["MacAddress"] != "02:77:0a:07:00:09" || got["Image"] != "img" {
		t.Errorf("withConfigMAC = %s", out)
	}
	plain := `{"Image":"img","HostConfig":{}}`
	if out, err := withConfigMAC([]byte(plain)); err != nil || string(out) != plain {
		t.Errorf("withConfigMAC without networks = %s, %v; want it unchanged", out, err)
	}
}

// TestFitAndOverlap: a network found under the name fits only with the
// attachment's bridge, subnet and gateway; another network's subnet or
// bridge is refused, naming it.
func TestFitAndOverlap(t *testing.T) {
	a := attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 9)
	ipam := func(s, gw string) network.IPAM {
		c := network.IPAMConfig{Subnet: netip.MustParsePrefix(s)}
		if gw != "" {
			c.Gateway = netip.MustParseAddr(gw)
		}
		return network.IPAM{Config: []network.IPAMConfig{c}}
	}
	fits := network.Network{Name: "wharf-web", Driver: "bridge", IPAM: ipam("10.7.0.0/16", "10.7.0.1"), Options: map[string]string{optBridgeName: "wh0"}}
	if err := fitNetwork("c1", fits, a); err != nil {
		t.Errorf("fitNetwork of a fitting network: %v", err)
	}
	for name, mod := range map[string]func(*network.Network){
		"other subnet":  func(n *network.Network) { n.IPAM = ipam("10.8.0.0/16", "") },
		"other gateway": func(n *network.Network) { n.IPAM = ipam("10.7.0.0/16", "10.7.0.254") },
		"other bridge":  func(n *network.Network) { n.Options = map[string]string{optBridgeName: "br-x"} },
		"other driver":  func(n *network.Network) { n.Driver = "macvlan" },
	} {
		n := fits
		mod(&n)
		if err := fitNetwork("c1", n, a); err == nil || !strings.Contains(err.Error(), "docker network rm wharf-web") {
			t.Errorf("fitNetwork, %s: %v; want a refusal saying to remove it", name, err)
		}
	}
	other := network.Network{Name: "bridge", Driver: "bridge", IPAM: ipam("10.7.128.0/17", ""), Options: map[string]string{optBridgeName: "docker0"}}
	if err := overlaps("c1", other, a); err == nil || !strings.Contains(err.Error(), "overlaps Docker network bridge (subnet 10.7.128.0/17)") {
		t.Errorf("overlaps of an overlapping subnet: %v", err)
	}
	other.IPAM = ipam("172.17.0.0/16", "")
	if err := overlaps("c1", other, a); err != nil {
		t.Errorf("overlaps of a disjoint subnet: %v", err)
	}
	other.Options[optBridgeName] = "wh0"
	if err := overlaps("c1", other, a); err == nil || !strings.Contains(err.Error(), "already uses bridge wh0") {
		t.Errorf("overlaps of a network on the bridge: %v", err)
	}
}
