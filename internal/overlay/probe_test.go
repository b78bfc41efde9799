package overlay

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/wharfhq/wharf/api"
)

// TestProbeLeavesOtherAgentsProbes: New's VXLAN probe is this process's
// own device. Another live process's probe on the same host (two agents of
// one machine starting together, as `wharf up` runs them) is left alone,
// and does not count as proof; a probe whose process is gone is removed.
func TestProbeLeavesOtherAgentsProbes(t *testing.T) {
	a, _ := twoHosts(t)
	for i, name := range []string{probePrefix + "1", probePrefix + "999999999"} { // pid 1 lives; the other cannot
		must(t, "probe "+name, a.h.LinkAdd(&netlink.Vxlan{
			LinkAttrs: netlink.LinkAttrs{Name: name}, VxlanId: 2 + i, SrcAddr: net.IP(a.addr.AsSlice()), Port: api.VXLANPort,
		}))
	}
	if err := a.m.probeVXLAN(); err != nil {
		t.Fatalf("probe beside another agent's: %v", err)
	}
	if _, err := a.h.LinkByName(probePrefix + "1"); err != nil {
		t.Errorf("a live process's probe was removed: %v", err)
	}
	if _, err := a.h.LinkByName(probePrefix + "999999999"); err == nil {
		t.Error("a probe whose process is gone was kept")
	}
	if _, err := a.h.LinkByName(probeName()); err == nil {
		t.Error("this process's probe was left behind")
	}
}
