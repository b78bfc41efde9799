package exec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	osexec "os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime"
)

// fixedPortEnv names the port "serve-net" listens on besides $PORT: the
// same in every container, which their namespaces allow.
const fixedPortEnv = "WHARF_EXEC_TEST_FIXED_PORT"

// testMTU is the attachments' MTU in tests, not Linux's default.
const testMTU = 1450

// netHelper runs the helper commands that tests exec into containers and
// reports whether args named one: "-wharf-dial ADDR" prints what ADDR
// says, "-wharf-ifaces" prints "name mac mtu addresses..." per interface.
func netHelper(args []string) bool {
	switch {
	case len(args) == 2 && args[0] == "-wharf-dial":
		conn, err := net.DialTimeout("tcp", args[1], 3*time.Second)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(conn)
		fmt.Print(string(b))
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	case len(args) == 1 && args[0] == "-wharf-ifaces":
		ifaces, err := net.Interfaces()
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for _, ifc := range ifaces {
			addrs, _ := ifc.Addrs()
			fmt.Print(ifc.Name, " ", ifc.HardwareAddr, " ", ifc.MTU)
			for _, a := range addrs {
				fmt.Print(" ", a)
			}
			fmt.Println()
		}
		os.Exit(0)
	}
	return false
}

// serveNet listens on $PORT and on $WHARF_EXEC_TEST_FIXED_PORT, says
// "listening", and answers every connection with its container ID.
func serveNet() {
	id := os.Getenv("WHARF_CONTAINER_ID")
	for _, port := range []string{os.Getenv("PORT"), os.Getenv(fixedPortEnv)} {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					os.Exit(1)
				}
				fmt.Fprintln(conn, id)
				conn.Close()
			}
		}()
	}
	fmt.Println("listening")
	select {}
}

// needNetAdmin skips a test that makes namespaces and links unless the
// test runs as root; with WHARF_REQUIRE_DOCKER=1 it fails instead.
func needNetAdmin(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
		t.Fatal("network namespaces need root, and WHARF_REQUIRE_DOCKER=1 forbids skipping")
	}
	t.Skip("network namespaces need root")
}

// testBridge makes a bridge with a fresh name on a /24 of 10.213.0.0/16
// that no address of the host is on, with the gateway .1 on it, and lets
// the bridge forward between its ports (hosts with br_netfilter and a
// FORWARD policy of DROP, as Docker leaves them, would drop it otherwise).
// It is deleted when the test ends.
func testBridge(t *testing.T) (*netlink.Bridge, netip.Prefix) {
	t.Helper()
	needNetAdmin(t)
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var subnet netip.Prefix
	for range 50 {
		p := netip.MustParsePrefix(fmt.Sprintf("10.213.%d.0/24", rand.IntN(256)))
		free := true
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && p.Contains(ip) {
				free = false
			}
		}
		if free {
			subnet = p
			break
		}
	}
	if !subnet.IsValid() {
		t.Fatal("no free /24 in 10.213.0.0/16 for a test bridge")
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("wtb%08x", rand.Uint32()), MTU: testMTU}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatalf("create test bridge %s: %v", br.Name, err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(br); err != nil {
			t.Errorf("delete test bridge %s: %v", br.Name, err)
		}
	})
	gw := subnet.Addr().Next()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(24, 32)}}
	if err := netlink.AddrAdd(br, addr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	if path, err := osexec.LookPath("iptables"); err == nil {
		rule := []string{"FORWARD", "-i", br.Name, "-o", br.Name, "-j", "ACCEPT"}
		if out, err := osexec.Command(path, append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
			t.Logf("iptables -I %s: %v: %s (traffic between containers may be dropped)", strings.Join(rule, " "), err, out)
		} else {
			t.Cleanup(func() { _ = osexec.Command(path, append([]string{"-D"}, rule...)...).Run() })
		}
	}
	return br, subnet
}

// attachment is host number n of subnet on bridge br, with its gateway
// (.1) as gateway and DNS.
func attachment(br string, subnet netip.Prefix, n int) runtime.Attachment {
	gw := subnet.Addr().Next()
	ip := subnet.Addr().As4()
	ip[3] = byte(n)
	addr := netip.AddrFrom4(ip)
	return runtime.Attachment{Network: "test", Bridge: br, Address: netip.PrefixFrom(addr, subnet.Bits()),
		Gateway: gw, MAC: api.MACFor(addr), MTU: testMTU, DNS: gw}
}

// testExe is the test binary, which is also the workload.
func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// ifaceFields are the fields of the line of interface name in the output
// of -wharf-ifaces, nil if there is none.
func ifaceFields(out, name string) []string {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}

// netSpec runs serveNet on attachment att.
func netSpec(t *testing.T, id string, att runtime.Attachment) runtime.Spec {
	return runtime.Spec{ID: id, Name: id, Service: "svc", Slot: 1, Node: "n1", Command: []string{testExe(t)},
		Env: map[string]string{helperEnv: "serve-net", fixedPortEnv: "8080"}, Networks: []runtime.Attachment{att}}
}

// execOut runs cmd in container id and returns its output, failing the
// test unless it exits 0.
func execOut(t *testing.T, d *Driver, id string, cmd ...string) string {
	t.Helper()
	var b bytes.Buffer
	code, err := d.Exec(ctx10(t), id, cmd, &b)
	if err != nil || code != 0 {
		t.Fatalf("Exec(%s, %q) = %d, %v; output %q", id, cmd, code, err, b.String())
	}
	return b.String()
}

// noLink fails the test if the veth host end name exists.
func noLink(t *testing.T, name string) {
	t.Helper()
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("link %s: %+v, %v; want it gone", name, l, err)
	}
}

func TestNetworks(t *testing.T) {
	br, subnet := testBridge(t)
	resolvBefore, err := os.ReadFile(hostResolvConf)
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, t.TempDir())
	ids := []string{"net-a", "net-b"}
	atts := make([]runtime.Attachment, len(ids))
	ports := make([]int, len(ids))
	for i, id := range ids {
		atts[i] = attachment(br.Name, subnet, 2+i)
		ports[i] = start(t, d, netSpec(t, id, atts[i])).HostPort
	}
	for _, id := range ids {
		// Both listen on 8080: only their own namespaces let them.
		waitLogs(t, d, id, func(s string) bool { return strings.Contains(s, "listening\n") })
	}
	for i, id := range ids {
		a := atts[i]
		ifaces := execOut(t, d, id, testExe(t), "-wharf-ifaces")
		eth0 := ifaceFields(ifaces, "eth0")
		if len(eth0) < 3 || eth0[1] != a.MAC || eth0[2] != strconv.Itoa(testMTU) || !slices.Contains(eth0[3:], a.Address.String()) ||
			ifaceFields(ifaces, "lo") == nil || strings.Count(ifaces, "\n") != 2 {
			t.Errorf("%s has interfaces\n%s\nwant lo and eth0 with MAC %s, MTU %d, address %s only", id, ifaces, a.MAC, testMTU, a.Address)
		}
		host, err := netlink.LinkByName(hostLinkName(id, 0))
		if err != nil {
			t.Fatalf("host end of %s: %v", id, err)
		}
		if host.Attrs().MasterIndex != br.Index || host.Attrs().MTU != testMTU || host.Attrs().OperState == netlink.OperDown {
			t.Errorf("host end of %s: master %d, MTU %d, state %v; want on %s (%d), %d, up",
				id, host.Attrs().MasterIndex, host.Attrs().MTU, host.Attrs().OperState, br.Name, br.Index, testMTU)
		}
		resolv := execOut(t, d, id, "cat", hostResolvConf)
		if !strings.Contains(resolv, "nameserver "+a.DNS.String()+"\n") || !strings.Contains(resolv, "options ndots:0\n") ||
			strings.Count(resolv, "nameserver") != 1 {
			t.Errorf("%s sees %s:\n%s\nwant nameserver %s only", id, hostResolvConf, resolv, a.DNS)
		}
	}
	// Each reaches the other by address, on the shared port and on $PORT.
	for i, id := range ids {
		other := 1 - i
		for _, port := range []int{8080, ports[other]} {
			addr := net.JoinHostPort(atts[other].Address.Addr().String(), strconv.Itoa(port))
			if got := execOut(t, d, id, testExe(t), "-wharf-dial", addr); got != ids[other]+"\n" {
				t.Errorf("%s dialled %s and heard %q, want %q", id, addr, got, ids[other])
			}
		}
	}
	// The host reaches them through the bridge.
	for i, id := range ids {
		addr := net.JoinHostPort(atts[i].Address.Addr().String(), "8080")
		conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			t.Fatalf("host dial %s (%s): %v", addr, id, err)
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(conn)
		conn.Close()
		if err != nil || string(b) != id+"\n" {
			t.Errorf("host dialled %s and heard %q, %v; want %q", addr, b, err, id)
		}
	}
	if after, err := os.ReadFile(hostResolvConf); err != nil || !bytes.Equal(after, resolvBefore) {
		t.Errorf("the host's %s changed: %q, %v; was %q", hostResolvConf, after, err, resolvBefore)
	}
	// Stopped, then removed: no veth is left.
	if err := d.Stop(ctx10(t), ids[0], time.Second); err != nil {
		t.Fatal(err)
	}
	noLink(t, hostLinkName(ids[0], 0))
	for _, id := range ids {
		if err := d.Remove(ctx10(t), id); err != nil {
			t.Fatalf("Remove(%s): %v", id, err)
		}
		noLink(t, hostLinkName(id, 0))
	}
}

// TestNetworksAdopted checks that an agent restart keeps a run on its
// network: a new driver execs into its namespaces and removes its veth.
func TestNetworksAdopted(t *testing.T) {
	br, subnet := testBridge(t)
	dir := t.TempDir()
	first := newDriver(t, dir)
	att := attachment(br.Name, subnet, 7)
	spec := netSpec(t, "net-adopted", att)
	st := start(t, first, spec)
	waitLogs(t, first, spec.ID, func(s string) bool { return strings.Contains(s, "listening\n") })
	second := newDriver(t, dir)
	if got, err := second.Inspect(ctx10(t), spec.ID); err != nil || got.State != runtime.StateRunning || got.PID != st.PID {
		t.Fatalf("second driver: %+v, %v; want running as PID %d", got, err, st.PID)
	}
	addr := net.JoinHostPort(att.Address.Addr().String(), "8080")
	if got := execOut(t, second, spec.ID, testExe(t), "-wharf-dial", addr); got != spec.ID+"\n" {
		t.Errorf("exec'd by the adopting driver, dialled %s and heard %q", addr, got)
	}
	if got := execOut(t, second, spec.ID, testExe(t), "-wharf-ifaces"); !slices.Contains(ifaceFields(got, "eth0"), att.Address.String()) {
		t.Errorf("exec'd by the adopting driver, saw interfaces\n%s\nwant %s", got, att.Address)
	}
	if err := second.Remove(ctx10(t), spec.ID); err != nil {
		t.Fatal(err)
	}
	noLink(t, hostLinkName(spec.ID, 0))
}

// TestNetworksFailedStart checks that a start that fails leaves no veth
// and no directory behind.
func TestNetworksFailedStart(t *testing.T) {
	br, subnet := testBridge(t)
	dir := t.TempDir()
	d := newDriver(t, dir)
	noBridge := attachment("wtbnosuch0", subnet, 2)
	badCmd := netSpec(t, "net-badcmd", attachment(br.Name, subnet, 3))
	badCmd.Command = []string{"/nonexistent/wharf-no-such-command"}
	tests := []struct {
		name    string
		spec    runtime.Spec
		wantErr string
	}{
		{"no bridge", netSpec(t, "net-nobridge", noBridge), "bridge wtbnosuch0"},
		{"bad command", badCmd, "cannot run command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := d.Start(ctx10(t), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start = %+v, %v; want an error containing %q", st, err, tt.wantErr)
			}
			noLink(t, hostLinkName(tt.spec.ID, 0))
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a failed Start left %d entries in the driver's directory", len(entries))
			}
		})
	}
}

func TestCheckNetworks(t *testing.T) {
	good := attachment("br0", netip.MustParsePrefix("10.7.0.0/16"), 5)
	if err := checkNetworks([]runtime.Attachment{good}); err != nil {
		t.Fatalf("checkNetworks(%+v): %v", good, err)
	}
	tests := []struct {
		name    string
		edit    func(*runtime.Attachment)
		wantErr string
	}{
		{"no bridge", func(a *runtime.Attachment) { a.Bridge = "" }, "bridge name"},
		{"long bridge", func(a *runtime.Attachment) { a.Bridge = "abcdefghijklmnop" }, "bridge name"},
		{"no address", func(a *runtime.Attachment) { a.Address = netip.Prefix{} }, "no address"},
		{"gateway outside", func(a *runtime.Attachment) { a.Gateway = netip.MustParseAddr("10.8.0.1") }, "outside"},
		{"small MTU", func(a *runtime.Attachment) { a.MTU = 20 }, "MTU"},
		{"bad MAC", func(a *runtime.Attachment) { a.MAC = "02:77" }, "MAC"},
	}
	for _, tt := range tests {
		a := good
		tt.edit(&a)
		if err := checkNetworks([]runtime.Attachment{a}); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: checkNetworks = %v; want an error containing %q", tt.name, err, tt.wantErr)
		}
	}
	many := make([]runtime.Attachment, maxNetworks+1)
	for i := range many {
		many[i] = good
	}
	if err := checkNetworks(many); err == nil {
		t.Errorf("checkNetworks accepted %d networks", len(many))
	}
	for _, id := range []string{"a", strings.Repeat("x", 128)} {
		if n := hostLinkName(id, 3); len(n) > unix.IFNAMSIZ-1 || !strings.HasPrefix(n, "whv") || n == hostLinkName(id, 0) {
			t.Errorf("hostLinkName(%q, 3) = %q; want whv..., at most 15 characters, unlike attachment 0's", id, n)
		}
	}
}

func TestNeedRootError(t *testing.T) {
	err := needRootErr("create veth x", unix.EPERM)
	if !strings.HasPrefix(err.Error(), errNeedRoot) || !errors.Is(err, unix.EPERM) {
		t.Errorf("needRootErr(EPERM) = %v; want it to start with %q and wrap EPERM", err, errNeedRoot)
	}
	if err := needRootErr("create veth x", unix.EEXIST); strings.Contains(err.Error(), errNeedRoot) {
		t.Errorf("needRootErr(EEXIST) = %v; it is not about root", err)
	}
}

// TestNetworksAsUser checks that a run with networks, and a command
// exec'd into it, still run as the driver's user with no new privileges,
// and that the user reads the run's resolv.conf.
func TestNetworksAsUser(t *testing.T) {
	br, subnet := testBridge(t)
	u := nobody(t)
	d := newUserDriver(t, reachableDir(t), u)
	att := attachment(br.Name, subnet, 9)
	spec := runtime.Spec{ID: "net-who", Name: "svc-1", Service: "svc", Slot: 1, Node: "n1",
		Command: hostile.WhoAmICommand(), Networks: []runtime.Attachment{att}}
	start(t, d, spec)
	w, err := hostile.ParseWhoAmI(waitLogs(t, d, spec.ID, func(s string) bool { return strings.Contains(s, "shadow=") }))
	if err != nil {
		t.Fatal(err)
	}
	if w.UID != int(u.UID) || w.ShadowRead || !w.NoNewPrivs {
		t.Fatalf("workload with networks as %s: %+v; want uid %d, /etc/shadow refused, no new privileges", u, w, u.UID)
	}
	out := execOut(t, d, spec.ID, "/bin/sh", "-c", "id -u; grep NoNewPrivs /proc/self/status; cat /etc/resolv.conf")
	want := []string{strconv.FormatUint(uint64(u.UID), 10) + "\n", "NoNewPrivs:\t1\n", "nameserver " + att.DNS.String() + "\n"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("exec'd command saw\n%s\nwant %q in it", out, w)
		}
	}
}

// TestNetworksWithoutRoot checks what an agent that may not make
// namespaces says; it runs only when the tests do not run as root.
func TestNetworksWithoutRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("the tests run as root")
	}
	dir := t.TempDir()
	d := newDriver(t, dir)
	spec := netSpec(t, "net-noroot", attachment("wtbnoroot", netip.MustParsePrefix("10.213.0.0/24"), 2))
	st, err := d.Start(ctx10(t), spec)
	if err == nil || !strings.Contains(err.Error(), errNeedRoot) {
		t.Fatalf("Start = %+v, %v; want an error saying %q", st, err, errNeedRoot)
	}
	t.Logf("Start without root: %v", err)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed Start left %d entries in the driver's directory", len(entries))
	}
}
