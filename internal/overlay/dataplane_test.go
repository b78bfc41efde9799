package overlay

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/wharfhq/wharf/api"
)

// TestDataPlane: two hosts, two networks with the same subnet (VNI 100
// and 200), containers on both hosts.
func TestDataPlane(t *testing.T) {
	a, b := twoHosts(t)
	if a.m.MTU() != 1500-api.VXLANOverhead {
		t.Fatalf("MTU = %d, want %d", a.m.MTU(), 1500-api.VXLANOverhead)
	}
	// Network x (VNI 100) and y (VNI 200), both 10.7.0.0/24.
	ax := addContainer(t, a, 100, "10.7.0.10", "")
	ay := addContainer(t, a, 200, "10.7.0.11", "")
	addContainer(t, b, 100, "10.7.0.20", "b-x20")
	addContainer(t, b, 200, "10.7.0.20", "b-y20")
	addContainer(t, b, 200, "10.7.0.30", "b-y30")

	full := api.NetworkState{Revision: 1, Networks: []api.NodeNetwork{
		// x lists 10.7.0.30 on b, but b holds it on y only.
		nodeNet(100, peer("a", a.addr, "10.7.0.10"), peer("b", b.addr, "10.7.0.20", "10.7.0.30")),
		nodeNet(200, peer("a", a.addr, "10.7.0.11"), peer("b", b.addr, "10.7.0.20", "10.7.0.30")),
	}}
	apply(t, full, a, b)

	t.Run("reach across hosts", func(t *testing.T) {
		reaches(t, ax, "10.7.0.20", "b-x20")
		reaches(t, ay, "10.7.0.20", "b-y20")
		reaches(t, ay, "10.7.0.30", "b-y30")
	})
	t.Run("networks are isolated", func(t *testing.T) {
		cannotReach(t, ax, "10.7.0.30")
		if got, err := ax.dial("10.7.0.20", time.Second); err != nil || got != "b-x20" {
			t.Fatalf("x container got %q, %v from 10.7.0.20, want b-x20", got, err)
		}
	})
	t.Run("apply twice changes nothing", func(t *testing.T) {
		before, idx := dump(t, a), indexes(t, a)
		writes := a.m.writes
		apply(t, full, a)
		if a.m.writes != writes {
			t.Errorf("second Apply made %d changes, want none", a.m.writes-writes)
		}
		if after := dump(t, a); !slices.Equal(before, after) {
			t.Errorf("entries changed:\nbefore %q\nafter  %q", before, after)
		}
		// An agent restart: a new manager, the same state.
		m2 := newManager(t, a.ns, a.addr)
		if err := m2.Apply(full, "a"); err != nil {
			t.Fatal(err)
		}
		if m2.writes != 0 {
			t.Errorf("a restarted agent's Apply made %d changes, want none", m2.writes)
		}
		if after := indexes(t, a); !equalMaps(idx, after) {
			t.Errorf("devices remade: %v -> %v", idx, after)
		}
		for _, ip := range []string{"10.7.0.20", "10.7.0.30"} {
			mac := api.MACFor(netip.MustParseAddr(ip))
			for _, want := range []string{
				"whvx100 fam=7 " + mac + " ip=10.250.0.2 master=0 flags=0x2 state=0x80",                             // vxlan fdb, self permanent
				"whvx100 fam=7 " + mac + " ip=<nil> master=" + fmt.Sprint(idx["whbr100"]) + " flags=0x0 state=0x40", // bridge fdb, static
				"whvx100 fam=2 " + mac + " ip=" + ip + " master=0 flags=0x0 state=0x80",                             // neighbour, permanent
			} {
				if !slices.Contains(before, want) {
					t.Errorf("missing entry %q in %q", want, before)
				}
			}
		}
		for _, e := range before {
			if strings.Contains(e, "00:00:00:00:00:00") {
				t.Errorf("flooding entry %q", e)
			}
		}
		reaches(t, ax, "10.7.0.20", "b-x20")
	})
	t.Run("removed peer is unreachable", func(t *testing.T) {
		st := api.NetworkState{Revision: 2, Networks: []api.NodeNetwork{
			nodeNet(100, peer("a", a.addr, "10.7.0.10")),
			full.Networks[1],
		}}
		apply(t, st, a)
		cannotReach(t, ax, "10.7.0.20")
		reaches(t, ay, "10.7.0.20", "b-y20")
		for _, e := range dump(t, a) {
			if strings.HasPrefix(e, "whvx100 ") && !strings.Contains(e, "ip=<nil>") {
				t.Errorf("entry left on whvx100: %s", e)
			}
		}
		apply(t, full, a)
		reaches(t, ax, "10.7.0.20", "b-x20")
	})
	t.Run("network absent from state keeps its devices", func(t *testing.T) {
		idx := indexes(t, a)
		st := api.NetworkState{Revision: 3, Networks: full.Networks[1:]}
		apply(t, st, a)
		if after := indexes(t, a); after["whvx100"] != idx["whvx100"] || after["whbr100"] != idx["whbr100"] {
			t.Errorf("network 100's devices changed: %v -> %v", idx, after)
		}
		cannotReach(t, ax, "10.7.0.20")
		reaches(t, ay, "10.7.0.30", "b-y30")
		apply(t, full, a)
		reaches(t, ax, "10.7.0.20", "b-x20")
	})
	t.Run("peer address change is followed", func(t *testing.T) {
		// b comes back with 10.250.0.3 (a restarted cloud host).
		newAddr := netip.MustParseAddr("10.250.0.3")
		ul, err := b.h.LinkByName("ul0")
		must(t, "b underlay", err)
		// Keep the new (secondary) address when the old one goes.
		must(t, "promote_secondaries", inNS(b.ns, func() error {
			return os.WriteFile("/proc/sys/net/ipv4/conf/ul0/promote_secondaries", []byte("1"), 0o644)
		}))
		addAddr(t, b.h, ul, newAddr.String()+"/24")
		b.m = newManager(t, b.ns, newAddr)
		b.addr = newAddr
		moved := api.NetworkState{Revision: 4, Networks: []api.NodeNetwork{
			nodeNet(100, peer("a", a.addr, "10.7.0.10"), peer("b", newAddr, "10.7.0.20", "10.7.0.30")),
			nodeNet(200, peer("a", a.addr, "10.7.0.11"), peer("b", newAddr, "10.7.0.20", "10.7.0.30")),
		}}
		apply(t, moved, a, b)
		old, _ := netlink.ParseAddr("10.250.0.2/24")
		must(t, "remove b's old address", b.h.AddrDel(ul, old))
		reaches(t, ax, "10.7.0.20", "b-x20")
		reaches(t, ay, "10.7.0.30", "b-y30")
		for _, e := range dump(t, a) {
			if strings.Contains(e, "ip=10.250.0.2 ") {
				t.Errorf("entry still points at b's old address: %s", e)
			}
		}
	})
	t.Run("close tears nothing down", func(t *testing.T) {
		idx := indexes(t, a)
		a.m.Close()
		b.m.Close()
		if after := indexes(t, a); !equalMaps(idx, after) {
			t.Errorf("devices changed on Close: %v -> %v", idx, after)
		}
		reaches(t, ax, "10.7.0.20", "b-x20")
		if err := a.m.Apply(api.NetworkState{}, "a"); err == nil {
			t.Error("Apply after Close succeeded")
		}
	})
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
