package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
)

// The tests below build two "hosts" (named network namespaces joined by a
// veth underlay), each with a network's bridge and VXLAN device as the
// overlay makes them, a "container" namespace on each bridge, and a Relay
// on each host joined by an in-process stand-in for the gateway's hub.

const testVNI = 4096

// requireNetAdmin skips the test without root (fails with
// WHARF_REQUIRE_DOCKER=1).
func requireNetAdmin(t *testing.T) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "not root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "no ip command"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
		t.Fatalf("relay netns tests need root with CAP_NET_ADMIN: %s", why)
	}
	t.Skipf("relay netns tests need root with CAP_NET_ADMIN: %s", why)
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// run runs a command, failing the test on error.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// namedNS makes a named network namespace removed at cleanup.
func namedNS(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	_ = exec.Command("ip", "netns", "del", name).Run()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ns, err := netns.GetFromName(name)
	must(t, "open netns "+name, err)
	t.Cleanup(func() { ns.Close() })
	return ns
}

// inNS runs f on a thread in ns; the thread is not reused afterwards.
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

type testHost struct {
	name, ctrName string
	ns, ctr       netns.NsHandle
	h             *netlink.Handle
	underlay      netip.Addr
	ctrIP         netip.Addr
	vx            netlink.Link
	relay         *Relay
}

// topology is two hosts with one container each on network testVNI, the
// forwarding entries pointing at each other's underlay, and a relay each.
type topology struct {
	a, b *testHost
	// streams: the relays talk through Serve and testHub (HTTP), as
	// over the session; otherwise Config.Send calls the peer's Deliver.
	streams bool
	// hostWide: the block drops UDP 4789 on every interface, 127.0.0.1
	// included (the relay must inject into the bridge).
	hostWide bool
	mu       sync.Mutex
	byID     map[string]*testHost
}

func newTopology(t *testing.T, streams bool) *topology {
	requireNetAdmin(t)
	p := fmt.Sprintf("wrl%d", os.Getpid()%100000)
	a := &testHost{name: p + "-ha", ctrName: p + "-ca", underlay: netip.MustParseAddr("10.251.77.1"), ctrIP: netip.MustParseAddr("10.77.0.1")}
	b := &testHost{name: p + "-hb", ctrName: p + "-cb", underlay: netip.MustParseAddr("10.251.77.2"), ctrIP: netip.MustParseAddr("10.77.0.2")}
	tp := &topology{a: a, b: b, byID: map[string]*testHost{a.name: a, b.name: b}, streams: streams}
	for _, x := range []*testHost{a, b} {
		x.ns = namedNS(t, x.name)
		x.ctr = namedNS(t, x.ctrName)
		h, err := netlink.NewHandleAt(x.ns, unix.NETLINK_ROUTE)
		must(t, "netlink handle", err)
		t.Cleanup(h.Close)
		x.h = h
	}
	must(t, "underlay veth", a.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ul0", MTU: 1500},
		PeerName: "ul0", PeerNamespace: netlink.NsFd(b.ns)}))
	for _, x := range []*testHost{a, b} {
		x.setup(t)
	}
	a.fdb(t, b, b.underlay)
	b.fdb(t, a, a.underlay)
	for _, x := range []*testHost{a, b} {
		x.startRelay(t, tp)
	}
	a.relay.SetPeers(Peers{Underlay: map[string]netip.Addr{b.name: b.underlay},
		Endpoints: map[uint32]map[netip.Addr]string{testVNI: {b.ctrIP: b.name}}})
	b.relay.SetPeers(Peers{Underlay: map[string]netip.Addr{a.name: a.underlay},
		Endpoints: map[uint32]map[netip.Addr]string{testVNI: {a.ctrIP: a.name}}})
	if streams {
		tp.useStreams(t)
	}
	return tp
}

func (x *testHost) setup(t *testing.T) {
	t.Helper()
	ul, err := x.h.LinkByName("ul0")
	must(t, "underlay", err)
	addr, _ := netlink.ParseAddr(x.underlay.String() + "/24")
	must(t, "underlay address", x.h.AddrAdd(ul, addr))
	must(t, "underlay up", x.h.LinkSetUp(ul))
	lo, err := x.h.LinkByName("lo")
	must(t, "lo", err)
	must(t, "lo up", x.h.LinkSetUp(lo))
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("whbr%d", testVNI), MTU: 1450}}
	must(t, "bridge", x.h.LinkAdd(br))
	vx := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("whvx%d", testVNI), MTU: 1450}, VxlanId: testVNI,
		SrcAddr: x.underlay.AsSlice(), Port: api.VXLANPort, Learning: false, Proxy: true}
	must(t, "vxlan", x.h.LinkAdd(vx))
	brl, err := x.h.LinkByName(br.Name)
	must(t, "bridge", err)
	x.vx, err = x.h.LinkByName(vx.Name)
	must(t, "vxlan", err)
	must(t, "vxlan master", x.h.LinkSetMaster(x.vx, brl))
	must(t, "vxlan up", x.h.LinkSetUp(x.vx))
	must(t, "bridge up", x.h.LinkSetUp(brl))
	must(t, "container veth", x.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "cv0", MTU: 1450},
		PeerName: "eth0", PeerNamespace: netlink.NsFd(x.ctr)}))
	cv, err := x.h.LinkByName("cv0")
	must(t, "container veth", err)
	must(t, "container veth master", x.h.LinkSetMaster(cv, brl))
	must(t, "container veth up", x.h.LinkSetUp(cv))
	ch, err := netlink.NewHandleAt(x.ctr, unix.NETLINK_ROUTE)
	must(t, "container netlink", err)
	defer ch.Close()
	eth, err := ch.LinkByName("eth0")
	must(t, "container eth0", err)
	mac, _ := net.ParseMAC(api.MACFor(x.ctrIP))
	must(t, "container MAC", ch.LinkSetHardwareAddr(eth, mac))
	caddr, _ := netlink.ParseAddr(x.ctrIP.String() + "/24")
	must(t, "container address", ch.AddrAdd(eth, caddr))
	must(t, "container eth0 up", ch.LinkSetUp(eth))
	clo, err := ch.LinkByName("lo")
	must(t, "container lo", err)
	must(t, "container lo up", ch.LinkSetUp(clo))
}

// fdb points x's entries for peer's container at dst (peer's underlay,
// or RelayAddr), as the agent does.
func (x *testHost) fdb(t *testing.T, peer *testHost, dst netip.Addr) {
	t.Helper()
	mac, _ := net.ParseMAC(api.MACFor(peer.ctrIP))
	must(t, "fdb", x.h.NeighSet(&netlink.Neigh{LinkIndex: x.vx.Attrs().Index, Family: unix.AF_BRIDGE,
		Flags: netlink.NTF_SELF, State: netlink.NUD_PERMANENT, HardwareAddr: mac, IP: dst.AsSlice()}))
	must(t, "neigh", x.h.NeighSet(&netlink.Neigh{LinkIndex: x.vx.Attrs().Index, Family: unix.AF_INET,
		State: netlink.NUD_PERMANENT, HardwareAddr: mac, IP: peer.ctrIP.AsSlice()}))
}

func (x *testHost) startRelay(t *testing.T, tp *topology) {
	t.Helper()
	must(t, "relay on "+x.name, inNS(x.ns, func() error {
		cfg := Config{Underlay: x.underlay, ProbeInterval: 200 * time.Millisecond}
		if !tp.streams {
			cfg.Send = tp.forward(x)
		}
		r, err := New(cfg)
		x.relay = r
		return err
	}))
	t.Cleanup(func() { x.relay.Close() })
}

// forward is the stand-in hub: a frame from src to node is delivered to
// node's relay, tagged with src.
func (tp *topology) forward(src *testHost) func(string, uint32, []byte) {
	return func(node string, vni uint32, frame []byte) {
		tp.mu.Lock()
		dst := tp.byID[node]
		tp.mu.Unlock()
		if dst == nil || dst.relay == nil {
			return
		}
		_ = dst.relay.Deliver(src.name, vni, frame)
	}
}

// block drops (or lets through again) VXLAN arriving at b's underlay.
func (tp *topology) block(t *testing.T, on bool) {
	t.Helper()
	op := "-A"
	if !on {
		op = "-D"
	}
	args := []string{"ip", "netns", "exec", tp.b.name, "iptables", op, "INPUT", "-i", "ul0", "-p", "udp", "--dport", "4789", "-j", "DROP"}
	if tp.hostWide {
		args = slices.Delete(args, 7, 9)
	}
	run(t, args...)
}

// waitStatus waits until each relay sees the other as want.
func (tp *topology) waitStatus(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// Direct is also the start: wait for answered probes too.
		answered := tp.a.relay.Stats().AnswersReceived >= okLimit && tp.b.relay.Stats().AnswersReceived >= okLimit
		if tp.a.relay.Status()[tp.b.name] == want && tp.b.relay.Status()[tp.a.name] == want && (want != Direct || answered) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("peers not %s within 10s: a sees %v, b sees %v (a %+v, b %+v)", want,
		tp.a.relay.Status(), tp.b.relay.Status(), tp.a.relay.Stats(), tp.b.relay.Stats())
}

// echo serves TCP echo on b's container; it returns its address.
func (tp *topology) echo(t *testing.T) string {
	t.Helper()
	var ln net.Listener
	must(t, "listen in the container", inNS(tp.b.ctr, func() (err error) {
		ln, err = net.Listen("tcp4", tp.b.ctrIP.String()+":7000")
		return err
	}))
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// talk connects from a's container to addr and echoes n bytes.
func (tp *topology) talk(addr string, n int, timeout time.Duration) error {
	var c net.Conn
	if err := inNS(tp.a.ctr, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, timeout)
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout + 10*time.Second))
	msg := bytes.Repeat([]byte("wharf relay "), n/12+1)[:n]
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		errc <- err
	}()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("read the echo: %w", err)
	}
	if err := <-errc; err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("the echo differs from what was sent")
	}
	return nil
}

// TestRelayAcrossBlockedVXLAN: two containers talk directly; with VXLAN
// to one host dropped, the probes see it, and once the entries point at
// RelayAddr they talk through the relays (over HTTP streams, as over the
// session); with VXLAN back, the probes see it and they talk directly.
func TestRelayAcrossBlockedVXLAN(t *testing.T) {
	t.Run("http-stream", func(t *testing.T) { testAcrossBlocked(t, true, false) })
	t.Run("in-process", func(t *testing.T) { testAcrossBlocked(t, false, false) })
	t.Run("host-wide-drop", func(t *testing.T) { testAcrossBlocked(t, true, true) })
}

func testAcrossBlocked(t *testing.T, streams, hostWide bool) {
	tp := newTopology(t, streams)
	tp.hostWide = hostWide
	addr := tp.echo(t)

	tp.waitStatus(t, Direct)
	must(t, "direct TCP", tp.talk(addr, 1<<20, 5*time.Second))
	if s := tp.a.relay.Stats(); s.Sent != 0 || s.AnswersReceived == 0 {
		t.Fatalf("direct: a relayed frames or got no probe answers: %+v", s)
	}

	tp.block(t, true)
	tp.waitStatus(t, Relayed)
	if err := tp.talk(addr, 1000, time.Second); err == nil {
		t.Fatal("blocked: TCP still works directly; the block does not block")
	}
	select {
	case <-tp.a.relay.Changes():
	default:
		t.Fatal("no change signalled on a")
	}
	// The agent's part: relayed peers' entries point at RelayAddr.
	tp.a.fdb(t, tp.b, RelayAddr)
	tp.b.fdb(t, tp.a, RelayAddr)
	must(t, "TCP through the relay", tp.talk(addr, 1<<20, 5*time.Second))
	sa, sb := tp.a.relay.Stats(), tp.b.relay.Stats()
	if sa.Sent == 0 || sb.Delivered == 0 || sb.Sent == 0 || sa.Delivered == 0 {
		t.Fatalf("relay counters do not show the traffic: a %+v, b %+v", sa, sb)
	}
	t.Logf("relayed: a %+v, b %+v", sa, sb)
	if hostWide != (sb.ViaBridge > 0) || sa.ViaBridge != 0 {
		t.Fatalf("frames injected into the bridge: a %d, b %d; want b only, and only with the host-wide drop", sa.ViaBridge, sb.ViaBridge)
	}

	tp.block(t, false)
	tp.waitStatus(t, Direct)
	tp.a.fdb(t, tp.b, tp.b.underlay)
	tp.b.fdb(t, tp.a, tp.a.underlay)
	before := tp.a.relay.Stats().Sent
	must(t, "direct TCP after recovery", tp.talk(addr, 1<<20, 5*time.Second))
	if after := tp.a.relay.Stats().Sent; after != before {
		t.Fatalf("after recovery %d frames still went through the relay", after-before)
	}
}
