package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	osexec "os/exec"
	goruntime "runtime"
	"strconv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Networks: a run whose Spec.Networks is non-empty gets a network
// namespace of its own, with one veth pair per attachment: the host end
// ("whv" and 12 hex digits, see hostLinkName) in the agent's namespace on
// the attachment's bridge, the other end in the run's namespace as eth0,
// eth1, ... with the attachment's MAC, MTU and address; the first
// attachment's gateway is the default route. It gets a mount namespace of
// its own too, a slave of the host's (mounts made on the host still reach
// it, its own never leave it), where /etc/resolv.conf is the run's
// resolv.conf naming the attachments' DNS servers.
//
// Namespaces belong to a thread, and Go starts a child from the thread of
// the goroutine calling Start: so a goroutine locked to a thread of its
// own moves that thread into the new namespaces, sets no-new-privileges
// on it, starts the process from it and ends without unlocking, which ends
// the thread too. No other goroutine ever runs in those namespaces.
//
// The namespaces live as long as a process in them does: nothing of them
// is recorded but the host ends' names, and an agent restart rebuilds
// nothing. When the run ends the kernel deletes the veth pairs with the
// network namespace; the driver deletes the host ends too (when the run
// exits, when a start fails, on Remove and before a new run of the same
// ID), in case the kernel has not yet.

// Network modes: bridge ("") and host are the same here, the host's
// network (no networks) or the networks' namespace; none is a network
// namespace of its own with only lo up, made as for networks, with no
// attachment (and no resolv.conf of its own: nothing to resolve with).

// ownNetwork reports whether a run of spec gets a network namespace of
// its own: on networks, or in network mode none.
func ownNetwork(spec runtime.Spec) bool {
	return len(spec.Networks) > 0 || spec.NetworkMode == "none"
}

// checkNetworkMode refuses a network mode the driver does not know, and
// networks in host or none mode.
func checkNetworkMode(spec runtime.Spec) error {
	switch spec.NetworkMode {
	case "", "bridge":
		return nil
	case "host", "none":
		if len(spec.Networks) > 0 {
			return fmt.Errorf("network mode %s joins no network, and the spec has %d network attachments; use bridge", spec.NetworkMode, len(spec.Networks))
		}
		return nil
	}
	return fmt.Errorf("unknown network mode %q; want bridge, host or none", spec.NetworkMode)
}

// errNeedRoot is the start error of a run with networks when the agent may
// not make namespaces or links.
const errNeedRoot = "network namespaces need root: run the agent as root or without --overlay"

// maxNetworks bounds a run's interfaces (eth0 to eth15).
const maxNetworks = 16

// hostLinkName is the name of the host end of the veth pair of attachment
// i of container id: at most 15 characters, as Linux wants.
func hostLinkName(id string, i int) string {
	sum := sha256.Sum256([]byte(id + "\x00" + strconv.Itoa(i)))
	return "whv" + hex.EncodeToString(sum[:6])
}

// hostLinkNames are the host ends of every attachment of a run.
func hostLinkNames(id string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = hostLinkName(id, i)
	}
	return names
}

// checkNetworks rejects attachments the driver cannot set up.
func checkNetworks(nets []runtime.Attachment) error {
	if len(nets) > maxNetworks {
		return fmt.Errorf("%d networks: a container may join at most %d", len(nets), maxNetworks)
	}
	for i, a := range nets {
		name := a.Network
		if name == "" {
			name = "#" + strconv.Itoa(i)
		}
		switch {
		case a.Bridge == "" || len(a.Bridge) > unix.IFNAMSIZ-1:
			return fmt.Errorf("network %s: bridge name %q must be 1 to 15 characters", name, a.Bridge)
		case !a.Address.IsValid() || a.Address.Addr().IsUnspecified():
			return fmt.Errorf("network %s: no address for the container; the slot needs an address on the network", name)
		case a.Gateway.IsValid() && !a.Address.Masked().Contains(a.Gateway):
			return fmt.Errorf("network %s: gateway %s is outside the container's subnet %s", name, a.Gateway, a.Address.Masked())
		case a.MTU != 0 && (a.MTU < 68 || a.MTU > 65535):
			return fmt.Errorf("network %s: MTU %d is not between 68 and 65535", name, a.MTU)
		}
		if a.MAC != "" {
			if _, err := net.ParseMAC(a.MAC); err != nil {
				return fmt.Errorf("network %s: MAC address: %w", name, err)
			}
		}
	}
	return nil
}

// startNetworked starts cmd in new network and mount namespaces wired to
// nets, with the file resolvConf (if not "") as /etc/resolv.conf, and
// returns the host ends of its veth pairs. On failure it leaves no link
// behind.
func startNetworked(cmd *osexec.Cmd, id string, nets []runtime.Attachment, resolvConf string) ([]string, error) {
	links := hostLinkNames(id, len(nets))
	// The calling goroutine's thread is in the agent's namespace (no
	// thread in another one ever runs other goroutines), and a netlink
	// socket stays in the namespace it was made in.
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	defer host.Close()
	// A run of the same ID that has just exited may still have its veths:
	// the kernel frees a namespace in the background.
	if err := deleteLinksWith(host, links); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // for good: its namespaces change, and it ends with this goroutine
		done <- spawnInNewNamespaces(host, cmd, links, nets, resolvConf)
	}()
	if err := <-done; err != nil {
		_ = deleteLinksWith(host, links)
		return nil, err
	}
	return links, nil
}

// spawnInNewNamespaces runs on a locked thread that never runs another
// goroutine: it moves it into new namespaces, plugs them into the bridges
// through host, and starts cmd.
func spawnInNewNamespaces(host *netlink.Handle, cmd *osexec.Cmd, links []string, nets []runtime.Attachment, resolvConf string) error {
	if err := setNoNewPrivs(); err != nil {
		return err
	}
	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWNS); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("%s (create namespaces: %w)", errNeedRoot, err)
		}
		return fmt.Errorf("create network namespace: %w", err)
	}
	nsfd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the new network namespace: %w; is /proc mounted?", err)
	}
	defer unix.Close(nsfd)
	inner, err := netlink.NewHandle(unix.NETLINK_ROUTE) // in the new namespace
	if err != nil {
		return fmt.Errorf("open netlink in the new network namespace: %w", err)
	}
	defer inner.Close()
	lo, err := inner.LinkByName("lo")
	if err == nil {
		err = inner.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	for i, a := range nets {
		if err := plug(host, inner, nsfd, links[i], "eth"+strconv.Itoa(i), a, i == 0); err != nil {
			return fmt.Errorf("network %s: %w", a.Network, err)
		}
	}
	if err := privateResolvConf(resolvConf); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return startErr{err}
	}
	return nil
}

// plug makes the veth pair of attachment a: hostName on a's bridge in the
// agent's namespace (host), ifName in the namespace nsfd (inner), with a's
// address, MAC and MTU, and a default route via a's gateway if route.
func plug(host, inner *netlink.Handle, nsfd int, hostName, ifName string, a runtime.Attachment, route bool) error {
	br, err := host.LinkByName(a.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w; the node's network is not set up (is the agent's overlay running?)", a.Bridge, err)
	}
	if br.Type() != "bridge" {
		return fmt.Errorf("%s is a %s, not a bridge", a.Bridge, br.Type())
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = hostName, a.MTU
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: ifName, PeerNamespace: netlink.NsFd(nsfd)}
	if a.MAC != "" {
		veth.PeerHardwareAddr, _ = net.ParseMAC(a.MAC) // checkNetworks parsed it
	}
	if err := host.LinkAdd(veth); err != nil {
		return needRootErr(fmt.Sprintf("create veth %s", hostName), err)
	}
	end, err := host.LinkByName(hostName)
	if err == nil {
		err = host.LinkSetMaster(end, br)
	}
	if err == nil {
		err = host.LinkSetUp(end)
	}
	if err != nil {
		return needRootErr(fmt.Sprintf("attach %s to %s", hostName, a.Bridge), err)
	}
	peer, err := inner.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("find %s in the container's namespace: %w", ifName, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.Address.Addr().AsSlice(), Mask: net.CIDRMask(a.Address.Bits(), a.Address.Addr().BitLen())}}
	if err := inner.AddrAdd(peer, addr); err != nil {
		return fmt.Errorf("give %s address %s: %w", ifName, a.Address, err)
	}
	if err := inner.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bring up %s: %w", ifName, err)
	}
	if route && a.Gateway.IsValid() {
		r := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: a.Gateway.AsSlice()}
		if err := inner.RouteAdd(r); err != nil {
			return fmt.Errorf("default route via %s: %w", a.Gateway, err)
		}
	}
	return nil
}

// linkErr is err of doing what, saying so when the agent lacks the right.
func needRootErr(what string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%s (%s: %w)", errNeedRoot, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// startErr is the error of starting the process itself, once its
// namespaces are ready: the command's fault, not the network's.
type startErr struct{ err error }

func (e startErr) Error() string { return e.err.Error() }
func (e startErr) Unwrap() error { return e.err }

// deleteLinks deletes the veths named, those that still exist.
func deleteLinks(names []string) error {
	if len(names) == 0 {
		return nil
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink: %w", err)
	}
	defer h.Close()
	return deleteLinksWith(h, names)
}

// deleteLinksWith deletes, through h, the veths named that still exist; a
// link of that name that is not a veth is not the driver's and is left.
func deleteLinksWith(h *netlink.Handle, names []string) error {
	var errs []error
	for _, name := range names {
		l, err := h.LinkByName(name)
		var nf netlink.LinkNotFoundError
		switch {
		case errors.As(err, &nf):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("look up veth %s: %w", name, err))
			continue
		case l.Type() != "veth":
			errs = append(errs, fmt.Errorf("link %s is a %s, not the driver's veth; delete it (ip link del %s)", name, l.Type(), name))
			continue
		}
		if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("delete veth %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
