package overlay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
)

// The tests below build "hosts" as network namespaces joined by a veth
// underlay, each with its own Manager, and "containers" as namespaces
// with a veth into a host's bridge.

// inNS runs f on a thread in ns. The thread is never given back to Go's
// scheduler (the goroutine exits locked, so the thread ends with it).
func inNS(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// newNS makes an anonymous network namespace that lives as long as the
// test (closing the last handle destroys it and every device in it).
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	type result struct {
		ns  netns.NsHandle
		err error
	}
	rc := make(chan result, 1)
	go func() {
		// netns.New moves the thread into the new namespace: the
		// goroutine ends locked so that the thread is not reused.
		runtime.LockOSThread()
		ns, err := netns.New()
		rc <- result{ns, err}
	}()
	r := <-rc
	if r.err != nil {
		if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" || !errors.Is(r.err, unix.EPERM) {
			t.Fatalf("cannot make a network namespace (needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN): %v", r.err)
		}
		t.Skipf("cannot make a network namespace (needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN): %v", r.err)
	}
	t.Cleanup(func() { r.ns.Close() })
	return r.ns
}

func handleAt(t *testing.T, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink handle: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func addAddr(t *testing.T, h *netlink.Handle, link netlink.Link, cidr string) {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	must(t, "parse "+cidr, err)
	must(t, "add "+cidr+" to "+link.Attrs().Name, h.AddrAdd(link, a))
}

type host struct {
	name string
	ns   netns.NsHandle
	h    *netlink.Handle
	m    *Manager
	addr netip.Addr
}

// twoHosts makes hosts "a" (10.250.0.1) and "b" (10.250.0.2) on one
// underlay link, each with a Manager.
func twoHosts(t *testing.T) (*host, *host) {
	a := &host{name: "a", ns: newNS(t), addr: netip.MustParseAddr("10.250.0.1")}
	b := &host{name: "b", ns: newNS(t), addr: netip.MustParseAddr("10.250.0.2")}
	a.h, b.h = handleAt(t, a.ns), handleAt(t, b.ns)
	must(t, "underlay veth", a.h.LinkAdd(&netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: "ul0", MTU: 1500},
		PeerName:  "ul0", PeerNamespace: netlink.NsFd(b.ns),
	}))
	for _, x := range []*host{a, b} {
		l, err := x.h.LinkByName("ul0")
		must(t, "underlay of "+x.name, err)
		addAddr(t, x.h, l, x.addr.String()+"/24")
		must(t, "underlay up", x.h.LinkSetUp(l))
		lo, err := x.h.LinkByName("lo")
		must(t, "lo", err)
		must(t, "lo up", x.h.LinkSetUp(lo))
		x.m = newManager(t, x.ns, x.addr)
	}
	return a, b
}

func newManager(t *testing.T, ns netns.NsHandle, addr netip.Addr) *Manager {
	t.Helper()
	m, err := New(Config{Underlay: addr, Netns: ns})
	must(t, "overlay.New", err)
	t.Cleanup(m.Close)
	return m
}

type container struct {
	ns netns.NsHandle
	ip netip.Addr
}

var vethSeq int

// addContainer makes a container namespace on host x attached to the
// bridge of the network (subnet 10.7.0.0/24) with address ip, and, if
// name is not empty, a TCP server on port 7000 that answers name.
func addContainer(t *testing.T, x *host, vni int, ip, name string) *container {
	t.Helper()
	c := &container{ns: newNS(t), ip: netip.MustParseAddr(ip)}
	br, err := x.m.Ensure(attachment(vni, ip))
	must(t, "Ensure", err)
	bridge, err := x.h.LinkByName(br)
	must(t, "bridge", err)
	vethSeq++
	hostSide := fmt.Sprintf("wc%d", vethSeq)
	mac, _ := net.ParseMAC(api.MACFor(c.ip))
	must(t, "container veth", x.h.LinkAdd(&netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: hostSide, MTU: x.m.MTU(), MasterIndex: bridge.Attrs().Index},
		PeerName:  "eth0", PeerNamespace: netlink.NsFd(c.ns), PeerHardwareAddr: mac,
		PeerMTU: uint32(x.m.MTU()),
	}))
	hs, err := x.h.LinkByName(hostSide)
	must(t, "host side", err)
	must(t, "host side up", x.h.LinkSetUp(hs))
	ch := handleAt(t, c.ns)
	eth, err := ch.LinkByName("eth0")
	must(t, "eth0", err)
	addAddr(t, ch, eth, ip+"/24")
	must(t, "eth0 up", ch.LinkSetUp(eth))
	if name != "" {
		var ln net.Listener
		must(t, "listen", inNS(c.ns, func() (err error) {
			ln, err = net.Listen("tcp", net.JoinHostPort(ip, "7000"))
			return err
		}))
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = io.WriteString(conn, name+"\n")
				conn.Close()
			}
		}()
	}
	return c
}

func attachment(vni int, ip string) api.NetworkAttachment {
	return api.NetworkAttachment{Network: fmt.Sprint("net", vni), Name: fmt.Sprint("net", vni), VNI: vni,
		Subnet: "10.7.0.0/24", Gateway: "10.7.0.1", IP: ip}
}

// dial connects from c to ip:7000 and returns what the server says.
func (c *container) dial(ip string, timeout time.Duration) (string, error) {
	var conn net.Conn
	err := inNS(c.ns, func() (err error) {
		d := net.Dialer{Timeout: timeout}
		conn, err = d.Dial("tcp", net.JoinHostPort(ip, "7000"))
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

// reaches waits (at most 5 s) for c to reach ip and get want.
func reaches(t *testing.T, c *container, ip, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got string
	var err error
	for ctx.Err() == nil {
		if got, err = c.dial(ip, 500*time.Millisecond); err == nil && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s cannot reach %s: got %q, err %v (want %q)", c.ip, ip, got, err, want)
}

// cannotReach checks that c does not reach ip within a second.
func cannotReach(t *testing.T, c *container, ip string) {
	t.Helper()
	if got, err := c.dial(ip, time.Second); err == nil {
		t.Fatalf("%s reached %s (answer %q), want no connection", c.ip, ip, got)
	}
}

// dump is every forwarding and neighbour entry of a host's VXLAN
// devices, as text, sorted.
func dump(t *testing.T, x *host) []string {
	t.Helper()
	links, err := x.h.LinkList()
	must(t, "links", err)
	names := map[int]string{}
	for _, l := range links {
		if l.Type() == "vxlan" {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	var out []string
	for _, fam := range []int{unix.AF_BRIDGE, unix.AF_INET} {
		ns, err := x.h.NeighList(0, fam)
		must(t, "neigh list", err)
		for _, n := range ns {
			if name, ok := names[n.LinkIndex]; ok {
				out = append(out, fmt.Sprintf("%s fam=%d %s ip=%s master=%d flags=%#x state=%#x", name, fam, n.HardwareAddr, n.IP, n.MasterIndex, n.Flags, n.State))
			}
		}
	}
	sort.Strings(out)
	return out
}

func indexes(t *testing.T, x *host) map[string]int {
	t.Helper()
	links, err := x.h.LinkList()
	must(t, "links", err)
	out := map[string]int{}
	for _, l := range links {
		out[l.Attrs().Name] = l.Attrs().Index
	}
	return out
}

func peer(node string, addr netip.Addr, eps ...string) api.NetworkPeer {
	return api.NetworkPeer{Node: node, Address: addr.String(), Endpoints: eps}
}

func nodeNet(vni int, peers ...api.NetworkPeer) api.NodeNetwork {
	return api.NodeNetwork{ID: fmt.Sprint("net", vni), Name: fmt.Sprint("net", vni), VNI: vni,
		Subnet: "10.7.0.0/24", Gateway: "10.7.0.1", Peers: peers}
}

func apply(t *testing.T, st api.NetworkState, hosts ...*host) {
	t.Helper()
	for _, x := range hosts {
		if err := x.m.Apply(st, x.name); err != nil {
			t.Fatalf("Apply on %s: %v", x.name, err)
		}
	}
}
