package overlay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
)

// network is the validated form of a network's fixed facts.
type network struct {
	vni     int
	subnet  netip.Prefix
	gateway netip.Addr
}

func parseNetwork(vni int, subnet, gateway string) (network, error) {
	if vni < 1 || vni > maxVNI {
		return network{}, fmt.Errorf("overlay: VNI %d is out of range 1..%d", vni, maxVNI)
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil || !p.Addr().Is4() {
		return network{}, fmt.Errorf("overlay: network with VNI %d: subnet %q is not an IPv4 CIDR", vni, subnet)
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil || !gw.Is4() || !p.Contains(gw) {
		return network{}, fmt.Errorf("overlay: network with VNI %d: gateway %q is not an IPv4 address in %s", vni, gateway, p)
	}
	return network{vni: vni, subnet: p.Masked(), gateway: gw}, nil
}

// Ensure makes (or adopts) the network's bridge and VXLAN device and
// returns the bridge's name. It changes only what differs from the wanted
// setup: an existing bridge (one Docker made for a Docker network, say)
// keeps its addresses and ports and only gains what is missing; a VXLAN
// device is remade only when its VNI, port, local address or flags are
// wrong (it could not carry the network's traffic anyway).
func (m *Manager) Ensure(att api.NetworkAttachment) (string, error) {
	n, err := parseNetwork(att.VNI, att.Subnet, att.Gateway)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return "", errClosed
	}
	if _, err := m.ensure(n); err != nil {
		return "", err
	}
	return BridgeName(n.vni), nil
}

// ensure returns the network's VXLAN device.
func (m *Manager) ensure(n network) (*netlink.Vxlan, error) {
	br, err := m.ensureBridge(n)
	if err != nil {
		return nil, err
	}
	return m.ensureVXLAN(n, br)
}

func (m *Manager) ensureBridge(n network) (netlink.Link, error) {
	name := BridgeName(n.vni)
	link, err := m.h.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if !errors.As(err, &notFound) {
			return nil, fmt.Errorf("overlay: look up bridge %s: %w", name, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{
			Name: name, MTU: m.mtu, HardwareAddr: m.bridgeMAC(n.vni),
		}}
		created, err := m.addLink(br)
		if err != nil {
			return nil, fmt.Errorf("overlay: create bridge %s: %w", name, err)
		}
		if created {
			m.log.Info("overlay: created bridge", "bridge", name, "mtu", m.mtu)
		}
		if link, err = m.h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("overlay: look up bridge %s: %w", name, err)
		}
	}
	if link.Type() != "bridge" {
		return nil, fmt.Errorf("overlay: %s is a %s device, not a bridge: remove it (ip link del %s) so the network's bridge can be made", name, link.Type(), name)
	}
	if link.Attrs().MTU != m.mtu {
		if err := m.h.LinkSetMTU(link, m.mtu); err != nil {
			return nil, fmt.Errorf("overlay: set MTU %d on bridge %s: %w", m.mtu, name, err)
		}
		m.writes++
	}
	if err := m.ensureGateway(link, n); err != nil {
		return nil, err
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := m.h.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("overlay: bring bridge %s up: %w", name, err)
		}
		m.writes++
	}
	m.allowForwarding(name)
	return link, nil
}

// allowForwarding lets frames between two ports of the bridge (two
// containers, or a container and the VXLAN port) through iptables. With
// br_netfilter loaded (Docker loads it; the per-bridge switch cannot turn
// its global one off) and a FORWARD policy of DROP (Docker sets it),
// bridged traffic would be dropped. The rule is checked first and added
// once; a host without iptables (an agent in a container, whose FORWARD
// chain is its own and empty) needs none. A manager programming another
// namespace leaves it alone.
func (m *Manager) allowForwarding(name string) {
	if m.foreign {
		return
	}
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return
	}
	rule := []string{"FORWARD", "-i", name, "-o", name, "-j", "ACCEPT"}
	if exec.Command(ipt, append([]string{"-w", "-C"}, rule...)...).Run() == nil {
		return
	}
	if out, err := exec.Command(ipt, append([]string{"-w", "-I"}, rule...)...).CombinedOutput(); err != nil {
		m.log.Warn("overlay: cannot let the bridge's traffic through iptables' FORWARD chain; if its policy drops, containers on the network cannot talk",
			"bridge", name, "err", err, "output", strings.TrimSpace(string(out)))
		return
	}
	m.writes++
	m.log.Info("overlay: iptables FORWARD accepts the bridge's own traffic", "bridge", name)
}

// ensureGateway adds gateway/prefix to the bridge unless the bridge holds
// the gateway address already (with whatever prefix).
func (m *Manager) ensureGateway(br netlink.Link, n network) error {
	addrs, err := m.h.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("overlay: list addresses of %s: %w", br.Attrs().Name, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == n.gateway {
			return nil
		}
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{
		IP:   net.IP(n.gateway.AsSlice()),
		Mask: net.CIDRMask(n.subnet.Bits(), 32),
	}}
	if err := m.h.AddrAdd(br, addr); err != nil {
		return fmt.Errorf("overlay: add gateway %s/%d to %s: %w", n.gateway, n.subnet.Bits(), br.Attrs().Name, err)
	}
	m.writes++
	return nil
}

// addLink creates l, and tells whether it did: a device of that name
// made since the lookup (two agents of one host, as `wharf up` runs them,
// ensure the same network at once) is not an error: the caller looks it
// up and goes on with it.
func (m *Manager) addLink(l netlink.Link) (bool, error) {
	if m.beforeAdd != nil {
		m.beforeAdd(l.Attrs().Name)
	}
	err := m.h.LinkAdd(l)
	if errors.Is(err, unix.EEXIST) {
		m.log.Debug("overlay: another agent of this host made the device first", "device", l.Attrs().Name)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m.writes++
	return true, nil
}

// bridgeMAC is the MAC of a bridge the manager makes: fixed (a bridge
// with a kernel-chosen MAC takes its lowest port's, so it would change as
// containers come and go) and unique on the network's L2 domain (it
// carries the node's underlay address). 0e: locally administered, never
// 02:77 (api.MACFor's).
func (m *Manager) bridgeMAC(vni int) net.HardwareAddr {
	b := m.underlay.As4()
	return net.HardwareAddr{0x0e, byte(vni), b[0], b[1], b[2], b[3]}
}

func (m *Manager) wantVXLAN(n network) *netlink.Vxlan {
	return &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: VXLANName(n.vni), MTU: m.mtu},
		VxlanId:   n.vni,
		SrcAddr:   net.IP(m.underlay.AsSlice()),
		Port:      api.VXLANPort,
		Learning:  false,
		Proxy:     true,
	}
}

// vxlanProblem says why an existing VXLAN device cannot serve the network
// ("" if it can).
func (m *Manager) vxlanProblem(l netlink.Link, n network) string {
	vx, ok := l.(*netlink.Vxlan)
	if !ok {
		return "it is a " + l.Type() + " device"
	}
	src, _ := netip.AddrFromSlice(vx.SrcAddr)
	switch {
	case vx.VxlanId != n.vni:
		return fmt.Sprintf("its VNI is %d", vx.VxlanId)
	case vx.Port != api.VXLANPort:
		return fmt.Sprintf("its port is %d", vx.Port)
	case src.Unmap() != m.underlay:
		return fmt.Sprintf("its local address is %s, not %s", src, m.underlay)
	case vx.Learning:
		return "it learns"
	case !vx.Proxy:
		return "proxy ARP is off"
	case len(vx.Group) > 0 && !vx.Group.IsUnspecified():
		return "it has a remote or group " + vx.Group.String()
	case vx.FlowBased:
		return "it is flow based"
	}
	return ""
}

func (m *Manager) ensureVXLAN(n network, br netlink.Link) (*netlink.Vxlan, error) {
	name := VXLANName(n.vni)
	link, err := m.h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case err != nil && !errors.As(err, &notFound):
		return nil, fmt.Errorf("overlay: look up %s: %w", name, err)
	case err == nil:
		if why := m.vxlanProblem(link, n); why != "" {
			m.log.Warn("overlay: remaking VXLAN device", "device", name, "reason", why)
			if err := m.h.LinkDel(link); err != nil {
				return nil, fmt.Errorf("overlay: remove %s (%s): %w", name, why, err)
			}
			m.writes++
			link = nil
		}
	default:
		link = nil
	}
	if link == nil {
		created, err := m.addLink(m.wantVXLAN(n))
		if err != nil {
			return nil, fmt.Errorf("overlay: create VXLAN device %s (VNI %d, local %s, port %d): %w", name, n.vni, m.underlay, api.VXLANPort, err)
		}
		if created {
			m.log.Info("overlay: created VXLAN device", "device", name, "vni", n.vni, "local", m.underlay)
		}
		if link, err = m.h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("overlay: look up %s: %w", name, err)
		}
	}
	vx, ok := link.(*netlink.Vxlan)
	if !ok {
		return nil, fmt.Errorf("overlay: %s is a %s device, not vxlan", name, link.Type())
	}
	if vx.MTU != m.mtu {
		if err := m.h.LinkSetMTU(vx, m.mtu); err != nil {
			return nil, fmt.Errorf("overlay: set MTU %d on %s: %w", m.mtu, name, err)
		}
		m.writes++
	}
	if vx.MasterIndex != br.Attrs().Index {
		if err := m.h.LinkSetMaster(vx, br); err != nil {
			return nil, fmt.Errorf("overlay: attach %s to bridge %s: %w", name, br.Attrs().Name, err)
		}
		m.writes++
	}
	if err := m.ensurePort(vx); err != nil {
		return nil, err
	}
	if vx.Flags&net.FlagUp == 0 {
		if err := m.h.LinkSetUp(vx); err != nil {
			return nil, fmt.Errorf("overlay: bring %s up: %w", name, err)
		}
		m.writes++
	}
	return vx, nil
}

// ensurePort turns learning off and neighbour suppression on for the
// VXLAN device's bridge port. A kernel without neighbour suppression
// (before 4.15) only gets a warning: proxy ARP on the device does the job.
func (m *Manager) ensurePort(vx *netlink.Vxlan) error {
	pi, err := m.h.LinkGetProtinfo(vx)
	if err != nil {
		return fmt.Errorf("overlay: read bridge port flags of %s: %w", vx.Name, err)
	}
	if pi.Learning {
		if err := m.h.LinkSetLearning(vx, false); err != nil {
			return fmt.Errorf("overlay: turn learning off on bridge port %s: %w", vx.Name, err)
		}
		m.writes++
	}
	if !pi.NeighSuppress {
		if err := m.h.LinkSetBrNeighSuppress(vx, true); err != nil {
			m.log.Warn("overlay: no neighbour suppression on bridge port (proxy ARP still answers)", "device", vx.Name, "err", err)
		} else {
			m.writes++
		}
	}
	return nil
}
