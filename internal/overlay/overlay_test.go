package overlay

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestNames(t *testing.T) {
	if got := BridgeName(16777215); got != "whbr16777215" || len(got) > 15 {
		t.Errorf("BridgeName = %q", got)
	}
	if got := VXLANName(42); got != "whvx42" {
		t.Errorf("VXLANName = %q", got)
	}
}

func TestParseNetworkRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		vni             int
		subnet, gateway string
	}{
		{0, "10.7.0.0/16", "10.7.0.1"},
		{1 << 24, "10.7.0.0/16", "10.7.0.1"},
		{5, "nonsense", "10.7.0.1"},
		{5, "fd00::/64", "fd00::1"},
		{5, "10.7.0.0/16", "10.8.0.1"},
		{5, "10.7.0.0/16", ""},
	} {
		if _, err := parseNetwork(c.vni, c.subnet, c.gateway); err == nil {
			t.Errorf("parseNetwork(%d, %q, %q) accepted", c.vni, c.subnet, c.gateway)
		}
	}
}

func TestNewRejectsBadUnderlay(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "IPv4") {
		t.Errorf("New without underlay: %v", err)
	}
	if _, err := New(Config{Underlay: netip.MustParseAddr("fd00::1")}); err == nil {
		t.Error("New with an IPv6 underlay succeeded")
	}
}

func TestDesiredSkipsBadPeers(t *testing.T) {
	m := &Manager{underlay: netip.MustParseAddr("10.250.0.1"), log: discard()}
	n, err := parseNetwork(7, "10.7.0.0/24", "10.7.0.1")
	if err != nil {
		t.Fatal(err)
	}
	nn := api.NodeNetwork{VNI: 7, Subnet: "10.7.0.0/24", Gateway: "10.7.0.1", Peers: []api.NetworkPeer{
		{Node: "me", Address: "10.250.0.1", Endpoints: []string{"10.7.0.2"}},
		{Node: "b", Address: "10.250.0.2", Endpoints: []string{"10.7.0.3", "10.7.0.2", "10.7.0.1", "10.8.0.1", "bad", "fd00::1"}},
		{Node: "c", Address: "10.250.0.3", Endpoints: []string{"10.7.0.3", "10.7.0.4"}},
		{Node: "d", Address: "not-an-ip", Endpoints: []string{"10.7.0.5"}},
		{Node: "e", Address: "10.250.0.1", Endpoints: []string{"10.7.0.6"}},
		{Node: "f", Address: "fd00::9", Endpoints: []string{"10.7.0.7"}},
	}}
	got := m.desired(nn, n, "me")
	want := entries{
		netip.MustParseAddr("10.7.0.3"): {mac: "02:77:0a:07:00:03", vtep: netip.MustParseAddr("10.250.0.2")},
		netip.MustParseAddr("10.7.0.4"): {mac: "02:77:0a:07:00:04", vtep: netip.MustParseAddr("10.250.0.3")},
	}
	if len(got) != len(want) {
		t.Fatalf("desired = %v, want %v", got, want)
	}
	for ip, r := range want {
		if got[ip] != r {
			t.Errorf("desired[%s] = %v, want %v", ip, got[ip], r)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
