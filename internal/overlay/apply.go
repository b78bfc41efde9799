package overlay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
)

// entries is what one VXLAN device should hold: for each remote
// container address, its MAC and the VTEP of the node that holds it.
type entries map[netip.Addr]remote

type remote struct {
	mac  string // api.MACFor the address
	vtep netip.Addr
}

// Apply programs every network of st: Ensure, then the forwarding and
// neighbour entries for every container address held by a node other than
// self. Entries of the manager's VXLAN devices that st no longer lists are
// removed; a network absent from st keeps its bridge and device (local
// containers may still use them) but loses its entries. Apply writes only
// differences, so an unchanged state makes no change at all. An error in
// one network does not stop the others; all are returned joined.
func (m *Manager) Apply(st api.NetworkState, self string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return errClosed
	}
	var errs []error
	wanted := map[int]entries{} // by VXLAN ifindex
	inState := map[int]bool{}   // VNIs
	for _, nn := range st.Networks {
		n, err := parseNetwork(nn.VNI, nn.Subnet, nn.Gateway)
		if err != nil {
			errs = append(errs, fmt.Errorf("network %q: %w", nn.Name, err))
			continue
		}
		if inState[n.vni] {
			errs = append(errs, fmt.Errorf("overlay: network %q: VNI %d is listed twice in the state; the second is ignored", nn.Name, n.vni))
			continue
		}
		inState[n.vni] = true
		vx, err := m.ensure(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("network %q: %w", nn.Name, err))
			continue
		}
		wanted[vx.Index] = m.desired(nn, n, self)
	}
	// Our devices whose network left the state: keep them, empty them.
	links, err := m.h.LinkList()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("overlay: list interfaces: %w", err))...)
	}
	for _, l := range links {
		if vx, ok := l.(*netlink.Vxlan); ok && vx.Name == VXLANName(vx.VxlanId) && !inState[vx.VxlanId] {
			wanted[vx.Index] = entries{}
		}
	}
	if err := m.sync(wanted); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// desired lists the entries one network's device should hold. Bad or
// conflicting peer data is skipped with a warning, never fatal: the rest
// of the network still works. An address that self holds is never sent
// away, and an address two peers claim goes to the first.
func (m *Manager) desired(nn api.NodeNetwork, n network, self string) entries {
	local := map[netip.Addr]bool{}
	for _, p := range nn.Peers {
		if p.Node == self {
			for _, e := range p.Endpoints {
				if ip, err := netip.ParseAddr(e); err == nil {
					local[ip] = true
				}
			}
		}
	}
	want := entries{}
	for _, p := range nn.Peers {
		if p.Node == self {
			continue
		}
		vtep, err := netip.ParseAddr(p.Address)
		if err != nil || !vtep.Unmap().Is4() || vtep.IsUnspecified() || vtep.IsMulticast() {
			m.log.Warn("overlay: peer has no usable IPv4 VTEP address; its containers are unreachable", "network", nn.Name, "node", p.Node, "address", p.Address)
			continue
		}
		vtep = vtep.Unmap()
		if vtep == m.underlay {
			m.log.Warn("overlay: peer gives this node's own underlay address; skipped", "network", nn.Name, "node", p.Node, "address", p.Address)
			continue
		}
		for _, e := range p.Endpoints {
			ip, err := netip.ParseAddr(e)
			switch {
			case err != nil || !ip.Is4() || !n.subnet.Contains(ip) || ip == n.gateway:
				m.log.Warn("overlay: peer endpoint is not a container address of the network; skipped", "network", nn.Name, "node", p.Node, "endpoint", e, "subnet", n.subnet)
				continue
			case local[ip]:
				m.log.Warn("overlay: peer endpoint is held by this node too; kept local", "network", nn.Name, "node", p.Node, "endpoint", e)
				continue
			}
			if prev, dup := want[ip]; dup {
				if prev.vtep != vtep {
					m.log.Warn("overlay: two peers claim one endpoint; the first wins", "network", nn.Name, "endpoint", e, "first", prev.vtep, "second", vtep)
				}
				continue
			}
			want[ip] = remote{mac: api.MACFor(ip), vtep: vtep}
		}
	}
	return want
}

// listNeigh dumps one neighbour family, retrying a dump the kernel
// interrupted (a table that changed under it).
func (m *Manager) listNeigh(family int) ([]netlink.Neigh, error) {
	var err error
	for range 5 {
		var ns []netlink.Neigh
		ns, err = m.h.NeighList(0, family)
		if err == nil {
			return ns, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, err
}

// current is what one VXLAN device holds now.
type current struct {
	vteps  map[string][]netip.Addr // VXLAN fdb: MAC -> remote VTEPs
	bridge map[string]bool         // static bridge fdb entries on the port
	neigh  map[netip.Addr]string   // permanent neighbours: IP -> MAC
}

func (m *Manager) current(devs map[int]entries) (map[int]*current, error) {
	cur := map[int]*current{}
	for idx := range devs {
		cur[idx] = &current{vteps: map[string][]netip.Addr{}, bridge: map[string]bool{}, neigh: map[netip.Addr]string{}}
	}
	fdb, err := m.listNeigh(unix.AF_BRIDGE)
	if err != nil {
		return nil, fmt.Errorf("overlay: list forwarding entries: %w", err)
	}
	for _, e := range fdb {
		c := cur[e.LinkIndex]
		if c == nil || len(e.HardwareAddr) != 6 {
			continue
		}
		mac := e.HardwareAddr.String()
		switch {
		case e.MasterIndex != 0:
			// Static entries only: the device's own address is
			// "permanent" (local) and learnt ones age out.
			if e.State&netlink.NUD_NOARP != 0 && e.State&netlink.NUD_PERMANENT == 0 {
				c.bridge[mac] = true
			}
		case e.Flags&netlink.NTF_SELF != 0 && len(e.IP) > 0:
			if ip, ok := netip.AddrFromSlice(e.IP); ok {
				c.vteps[mac] = append(c.vteps[mac], ip.Unmap())
			}
		}
	}
	arp, err := m.listNeigh(unix.AF_INET)
	if err != nil {
		return nil, fmt.Errorf("overlay: list neighbours: %w", err)
	}
	for _, e := range arp {
		c := cur[e.LinkIndex]
		if c == nil || e.State&netlink.NUD_PERMANENT == 0 {
			continue
		}
		if ip, ok := netip.AddrFromSlice(e.IP); ok {
			c.neigh[ip.Unmap()] = e.HardwareAddr.String()
		}
	}
	return cur, nil
}

// sync makes every device in want hold exactly its entries: additions
// (and rewrites) first, so that a moved peer is never unreachable in
// between, then removals.
func (m *Manager) sync(want map[int]entries) error {
	cur, err := m.current(want)
	if err != nil {
		return err
	}
	var errs []error
	for idx, w := range want {
		if err := m.syncDevice(idx, w, cur[idx]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) syncDevice(idx int, want entries, cur *current) error {
	var errs []error
	do := func(what string, op func(*netlink.Neigh) error, n *netlink.Neigh) {
		n.LinkIndex = idx
		err := op(n)
		switch {
		case err == nil:
			m.writes++
		case what == "remove" && errors.Is(err, unix.ENOENT):
			// Gone already (a replaced VXLAN remote).
		default:
			errs = append(errs, fmt.Errorf("overlay: %s %s (%s) on device %d: %w", what, n.HardwareAddr, n.IP, idx, err))
		}
	}
	wantMAC := map[string]netip.Addr{}
	for ip, r := range want {
		wantMAC[r.mac] = r.vtep
		hw, _ := net.ParseMAC(r.mac)
		if vteps := cur.vteps[r.mac]; len(vteps) != 1 || vteps[0] != r.vtep {
			do("set", m.h.NeighSet, fdbSelf(hw, r.vtep))
		}
		if !cur.bridge[r.mac] {
			do("set", m.h.NeighSet, fdbMaster(hw))
		}
		if cur.neigh[ip] != r.mac {
			do("set", m.h.NeighSet, &netlink.Neigh{
				Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
				IP: net.IP(ip.AsSlice()), HardwareAddr: hw,
			})
		}
	}
	for ip := range cur.neigh {
		if _, ok := want[ip]; !ok {
			do("remove", m.h.NeighDel, &netlink.Neigh{Family: unix.AF_INET, IP: net.IP(ip.AsSlice())})
		}
	}
	for mac := range cur.bridge {
		if _, ok := wantMAC[mac]; !ok {
			hw, _ := net.ParseMAC(mac)
			do("remove", m.h.NeighDel, fdbMaster(hw))
		}
	}
	for mac, vteps := range cur.vteps {
		w, ok := wantMAC[mac]
		hw, _ := net.ParseMAC(mac)
		for _, v := range vteps {
			if !ok || v != w {
				do("remove", m.h.NeighDel, fdbSelf(hw, v))
			}
		}
	}
	return errors.Join(errs...)
}

// fdbSelf is a VXLAN forwarding entry: frames for hw go to vtep.
func fdbSelf(hw net.HardwareAddr, vtep netip.Addr) *netlink.Neigh {
	return &netlink.Neigh{
		Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF, State: netlink.NUD_PERMANENT,
		HardwareAddr: hw, IP: net.IP(vtep.AsSlice()),
	}
}

// fdbMaster is a static bridge entry: frames for hw leave by the VXLAN
// port. (NUD_NOARP is "static"; NUD_PERMANENT would make it local.)
func fdbMaster(hw net.HardwareAddr) *netlink.Neigh {
	return &netlink.Neigh{
		Family: unix.AF_BRIDGE, Flags: netlink.NTF_MASTER, State: netlink.NUD_NOARP,
		HardwareAddr: hw,
	}
}
