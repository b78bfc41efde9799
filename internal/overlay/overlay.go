package overlay

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
)

// maxVNI is the largest VXLAN network identifier (24 bits).
const maxVNI = 1<<24 - 1

// BridgeName is the name of a network's bridge on every node.
func BridgeName(vni int) string { return "whbr" + strconv.Itoa(vni) }

// VXLANName is the name of a network's VXLAN device on every node.
func VXLANName(vni int) string { return "whvx" + strconv.Itoa(vni) }

// Config configures a Manager.
type Config struct {
	// Underlay is the node's VTEP source address (Node.OverlayAddress):
	// an IPv4 address of one of this host's interfaces.
	Underlay netip.Addr
	// Log receives what the manager changes; nil discards it.
	Log *slog.Logger
	// Netns, when set (not 0 and not netns.None()), is the network
	// namespace to program instead of the caller's (tests use it). The
	// caller keeps ownership of the handle.
	Netns netns.NsHandle
}

// Manager programs a node's bridges and VXLAN devices. Its methods are
// safe for concurrent use.
type Manager struct {
	mu       sync.Mutex
	h        *netlink.Handle
	underlay netip.Addr
	mtu      int
	log      *slog.Logger
	// foreign: the manager programs another namespace than its own
	// (Config.Netns), whose sysfs it cannot reach.
	foreign bool
	// writes counts the changes made to the kernel (tests check that an
	// Apply of an unchanged state makes none).
	writes int
	// beforeAdd, for tests, runs between a device's lookup and its
	// creation: where another agent of the same host may make it.
	beforeAdd func(name string)
}

// New finds the interface holding cfg.Underlay and checks that the kernel
// can make VXLAN devices. The networks' MTU is that interface's minus
// api.VXLANOverhead.
func New(cfg Config) (*Manager, error) {
	if !cfg.Underlay.IsValid() || !cfg.Underlay.Unmap().Is4() {
		return nil, fmt.Errorf("overlay: underlay address %q is not an IPv4 address: give the node's IPv4 address that the other nodes reach (VXLAN over IPv6 is not supported)", cfg.Underlay)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns := netns.None()
	if cfg.Netns != 0 {
		ns = cfg.Netns
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("overlay: open netlink: %w (the agent needs CAP_NET_ADMIN)", err)
	}
	m := &Manager{h: h, underlay: cfg.Underlay.Unmap(), log: log, foreign: cfg.Netns != 0}
	dev, err := m.underlayLink()
	if err != nil {
		h.Close()
		return nil, err
	}
	m.mtu = dev.Attrs().MTU - api.VXLANOverhead
	if m.mtu < 576 {
		h.Close()
		return nil, fmt.Errorf("overlay: interface %s holding %s has MTU %d, too small for VXLAN (needs at least %d)", dev.Attrs().Name, m.underlay, dev.Attrs().MTU, 576+api.VXLANOverhead)
	}
	if err := m.probeVXLAN(); err != nil {
		h.Close()
		return nil, err
	}
	log.Debug("overlay ready", "underlay", m.underlay, "interface", dev.Attrs().Name, "mtu", m.mtu)
	return m, nil
}

// MTU is the MTU of every network's bridge and VXLAN device (and the one
// containers' interfaces on the networks must use).
func (m *Manager) MTU() int { return m.mtu }

// Close releases the netlink socket. It tears nothing down: bridges,
// VXLAN devices and their entries stay so that containers keep talking
// while the agent is away.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		m.h.Close()
		m.h = nil
	}
}

var errClosed = errors.New("overlay: manager is closed")

// underlayLink is the interface holding m.underlay.
func (m *Manager) underlayLink() (netlink.Link, error) {
	addrs, err := m.h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("overlay: list addresses: %w", err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && ip.Unmap() == m.underlay {
			link, err := m.h.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("overlay: interface of %s: %w", m.underlay, err)
			}
			return link, nil
		}
	}
	return nil, fmt.Errorf("overlay: no interface of this host holds the underlay address %s: the node's overlay address must be one of its own (check the agent's overlay address setting)", m.underlay)
}

// probePrefix names the short-lived devices New makes to check VXLAN
// support: probePrefix and the process ID, so that two agents of one host
// starting together (as `wharf up` runs them) never take or remove each
// other's probe.
const probePrefix = "whvxp"

// probeName is this process's probe device.
func probeName() string { return probePrefix + strconv.Itoa(os.Getpid()) }

// probeVXLAN checks that the kernel makes VXLAN devices: an existing one
// is proof enough, else a probe device is made and removed. A probe left
// by a process that is gone (it crashed between the two) is removed too.
func (m *Manager) probeVXLAN() error {
	links, err := m.h.LinkList()
	if err != nil {
		return fmt.Errorf("overlay: list interfaces: %w", err)
	}
	name := probeName()
	proved := false
	for _, l := range links {
		n := l.Attrs().Name
		pid, isProbe := strings.CutPrefix(n, probePrefix)
		switch {
		case l.Type() == "vxlan" && !isProbe:
			proved = true
		case isProbe && n != name && !processAlive(pid):
			_ = m.h.LinkDel(l)
		}
	}
	if proved {
		return nil
	}
	if old, err := m.h.LinkByName(name); err == nil {
		_ = m.h.LinkDel(old)
	}
	probe := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: name},
		VxlanId:   1, SrcAddr: net.IP(m.underlay.AsSlice()), Port: api.VXLANPort,
	}
	if err := m.h.LinkAdd(probe); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("overlay: the kernel cannot make VXLAN devices (%w): load the vxlan module on the host (modprobe vxlan)", err)
		}
		return fmt.Errorf("overlay: make a probe VXLAN device: %w", err)
	}
	if err := m.h.LinkDel(probe); err != nil {
		return fmt.Errorf("overlay: remove the probe VXLAN device %s: %w", name, err)
	}
	return nil
}

// processAlive reports whether pid names a running process of this host.
func processAlive(pid string) bool {
	if _, err := strconv.Atoi(pid); err != nil {
		return false
	}
	_, err := os.Stat("/proc/" + pid)
	return err == nil
}
