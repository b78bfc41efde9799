package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
	wrt "github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestNetworkAttach: two containers on a new overlay network get their
// slots' addresses and MACs on a Docker network bound to the named bridge
// (which Docker creates here), reach each other by address, keep their
// published ports, and have the network's resolver as DNS server.
func TestNetworkAttach(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	requireRoot(t) // entering a container's network namespace
	subnet := freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	bridge := "wxd" + randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net1))
	d := newDriver(t, "net-"+t.Name())

	var sts []wrt.Status
	var atts []wrt.Attachment
	for i, host := range []byte{10, 11} {
		a := attachment(net1, bridge, subnet, host)
		s := spec(image, fmt.Sprintf("net%d", i))
		s.Networks = []wrt.Attachment{a}
		st, err := d.Start(ctx20(t), s)
		if err != nil {
			t.Fatal(err)
		}
		sts, atts = append(sts, st), append(atts, a)
	}

	n, err := cli.NetworkInspect(ctx20(t), networkName(net1), client.NetworkInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Network.Driver != "bridge" || n.Network.Options[optBridgeName] != bridge || n.Network.Options[optMTU] != "1450" ||
		len(n.Network.IPAM.Config) != 1 || n.Network.IPAM.Config[0].Subnet != subnet || n.Network.IPAM.Config[0].Gateway != atts[0].Gateway ||
		n.Network.Labels[labelManaged] != "true" || n.Network.Labels[labelNetwork] != net1 {
		t.Errorf("Docker network: driver %s, options %v, IPAM %+v, labels %v; want bridge %s, MTU 1450, subnet %v, gateway %v, Wharf's labels",
			n.Network.Driver, n.Network.Options, n.Network.IPAM.Config, n.Network.Labels, bridge, subnet, atts[0].Gateway)
	}
	for i, st := range sts {
		checkEndpoint(t, cli, st.DriverID, atts[i])
	}
	// The host reaches each container through the bridge, which has the
	// gateway address; and through its published port.
	for i, st := range sts {
		httpGet(t, nil, "http://"+netip.AddrPortFrom(atts[i].Address.Addr(), 8080).String()+"/")
		if st.HostPort == 0 {
			t.Errorf("container %d: no published port", i)
			continue
		}
		httpGet(t, nil, fmt.Sprintf("http://127.0.0.1:%d/", st.HostPort))
	}
	// The first container reaches the second by its address.
	in, err := cli.ContainerInspect(ctx20(t), sts[0].DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := httpGet(t, inNetns(in.Container.State.Pid), "http://"+netip.AddrPortFrom(atts[1].Address.Addr(), 8080).String()+"/")
	if !strings.Contains(got, "web-1") {
		t.Errorf("from the first container, the second answers %q, want its hello", got)
	}

	// A restarted agent (a new driver) adopts the running containers.
	d2, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	d2.SetNode("net-" + t.Name())
	s := spec(image, "net0")
	s.Networks = []wrt.Attachment{atts[0]}
	st, err := d2.Start(ctx20(t), s)
	if err != nil || st.DriverID != sts[0].DriverID {
		t.Errorf("Start of the same spec by a new driver = %s, %v; want the running container %s", st.DriverID, err, sts[0].DriverID)
	}
}

// TestNetworkPreexistingBridge: the agent's overlay may make the bridge,
// with the gateway address, before Docker: the network then uses it, the
// bridge keeps its address, and outlives the network.
func TestNetworkPreexistingBridge(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	requireRoot(t)
	subnet := freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	bridge := "wxp" + randHex(4)
	a := attachment(net1, bridge, subnet, 20)
	gw := netip.PrefixFrom(a.Gateway, subnet.Bits()).String()
	ipCmd(t, "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	ipCmd(t, "addr", "add", gw, "dev", bridge)
	ipCmd(t, "link", "set", bridge, "up")
	removeNetworkAtEnd(t, cli, networkName(net1))
	d := newDriver(t, "netpre-"+t.Name())

	s := spec(image, "pre1")
	s.Networks = []wrt.Attachment{a}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	checkEndpoint(t, cli, st.DriverID, a)
	httpGet(t, nil, "http://"+netip.AddrPortFrom(a.Address.Addr(), 8080).String()+"/")
	if addrs := bridgeAddrs(t, bridge); len(addrs) != 1 || addrs[0] != gw {
		t.Errorf("bridge %s has addresses %v, want only %s", bridge, addrs, gw)
	}

	// Run again once exited: the same container, with the same address.
	if err := d.Stop(ctx20(t), s.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	again, err := d.Start(ctx20(t), s)
	if err != nil || again.DriverID != st.DriverID {
		t.Fatalf("Start after Stop = %s, %v; want container %s started again", again.DriverID, err, st.DriverID)
	}
	checkEndpoint(t, cli, again.DriverID, a)
	httpGet(t, nil, "http://"+netip.AddrPortFrom(a.Address.Addr(), 8080).String()+"/")

	// Removing the container and the network (by hand: the driver never
	// does) leaves the overlay's bridge in place.
	if err := d.Remove(ctx20(t), s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.NetworkRemove(ctx20(t), networkName(net1), client.NetworkRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if addrs := bridgeAddrs(t, bridge); len(addrs) != 1 || addrs[0] != gw {
		t.Errorf("after docker network rm, bridge %s has addresses %v, want it kept with %s", bridge, addrs, gw)
	}
}

// TestNetworkConflicts: a Docker network of the name with another subnet,
// or another network overlapping the subnet, fails Start saying which,
// and leaves no container behind.
func TestNetworkConflicts(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	d := newDriver(t, "netbad-"+t.Name())

	mine, other := freeSubnet(t, cli), freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net1))
	makeNetwork(t, cli, networkName(net1), other)
	s := spec(image, "bad1")
	s.Networks = []wrt.Attachment{attachment(net1, "", mine, 5)}
	_, err := d.Start(ctx20(t), s)
	if err == nil || !strings.Contains(err.Error(), "Docker network "+networkName(net1)+" exists") || !strings.Contains(err.Error(), other.String()) {
		t.Errorf("Start with a same-named network of another subnet: %v, want an error naming it and its subnet", err)
	}

	net2, plain := "t"+randHex(4), "wxt-other-"+randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net2))
	removeNetworkAtEnd(t, cli, plain)
	makeNetwork(t, cli, plain, mine)
	half := netip.PrefixFrom(mine.Addr(), 25)
	s = spec(image, "bad2")
	s.Networks = []wrt.Attachment{attachment(net2, "", half, 5)}
	_, err = d.Start(ctx20(t), s)
	if err == nil || !strings.Contains(err.Error(), "overlaps Docker network "+plain) {
		t.Errorf("Start with an overlapping subnet: %v, want an error naming %s", err, plain)
	}
	if list, err := d.List(ctx20(t)); err != nil || len(list) != 0 {
		t.Errorf("List after refused starts = %v, %v; want nothing", list, err)
	}
}

// TestNetworkSecondAttachment: a container on two networks gets an
// interface with its address and MAC on each, or, on an engine below API
// 1.44, a clear refusal.
func TestNetworkSecondAttachment(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	d := newDriver(t, "net2-"+t.Name())
	var atts []wrt.Attachment
	for range 2 {
		n := "t" + randHex(4)
		removeNetworkAtEnd(t, cli, networkName(n))
		atts = append(atts, attachment(n, "wxs"+randHex(4), freeSubnet(t, cli), 7))
	}
	s := spec(image, "two1")
	s.Networks = atts
	st, err := d.Start(ctx20(t), s)
	if d.legacyMAC() {
		if err == nil || !strings.Contains(err.Error(), "upgrade Docker to 25") {
			t.Errorf("Start on two networks with API %s: %v, want a refusal saying to upgrade", d.cli.ClientVersion(), err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		checkEndpoint(t, cli, st.DriverID, a)
	}
}

// TestCheckAttachments: attachments the engine could not use are refused
// before anything is made.
func TestCheckAttachments(t *testing.T) {
	good := attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 9)
	for name, mod := range map[string]func(*wrt.Attachment){
		"no name":         func(a *wrt.Attachment) { a.Network = "" },
		"bad name":        func(a *wrt.Attachment) { a.Network = "a b" },
		"no address":      func(a *wrt.Attachment) { a.Address = netip.Prefix{} },
		"IPv6 address":    func(a *wrt.Attachment) { a.Address = netip.MustParsePrefix("fd00::5/64") },
		"gateway outside": func(a *wrt.Attachment) { a.Gateway = netip.MustParseAddr("10.8.0.1") },
		"gateway is self": func(a *wrt.Attachment) { a.Gateway = a.Address.Addr() },
		"bad MAC":         func(a *wrt.Attachment) { a.MAC = "02:77" },
		"tiny MTU":        func(a *wrt.Attachment) { a.MTU = 100 },
		"long bridge":     func(a *wrt.Attachment) { a.Bridge = "a-very-long-bridge-name" },
	} {
		a := good
		mod(&a)
		if err := checkAttachments(wrt.Spec{ID: "c1", Networks: []wrt.Attachment{a}}); err == nil {
			t.Errorf("%s: accepted %+v", name, a)
		}
	}
	if err := checkAttachments(wrt.Spec{ID: "c1", Networks: []wrt.Attachment{good}}); err != nil {
		t.Errorf("a good attachment: %v", err)
	}
	if err := checkAttachments(wrt.Spec{ID: "c1", Networks: []wrt.Attachment{good, good}}); err == nil {
		t.Error("the same network twice: accepted")
	}
}

// TestSpecHashNetworks: attachments are in the spec hash (a moved address
// is a new container); a spec without them hashes as before (see
// TestSpecHashUnchanged).
func TestSpecHashNetworks(t *testing.T) {
	s := wrt.Spec{ID: "c1", Name: "web-1", Service: "web", Slot: 1, Node: "n1", Image: "img", Command: []string{"serve"}}
	if got := specHash(s); got != "7d841e7933b5e0d9aeeb7519" {
		t.Fatalf("specHash without networks = %s, want the old hash", got)
	}
	with := s
	with.Networks = []wrt.Attachment{attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 9)}
	moved := s
	moved.Networks = []wrt.Attachment{attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 10)}
	if specHash(with) == specHash(s) || specHash(with) == specHash(moved) {
		t.Error("the spec hash does not change with the attachments")
	}
}

// TestWithConfigMAC: for engines below API 1.44 the primary network's MAC
// goes into the container's configuration, and nothing else changes.
func TestWithConfigMAC(t *testing.T) {
	in := `{"Image":"img","HostConfig":{"NetworkMode":"wharf-a"},"NetworkingConfig":{"EndpointsConfig":{"wharf-a":{"MacAddress":"02:77:0a:07:00:09"}}}}`
	out, err := withConfigMAC([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got["MacAddress"] != "02:77:0a:07:00:09" || got["Image"] != "img" {
		t.Errorf("withConfigMAC = %s", out)
	}
	plain := `{"Image":"img","HostConfig":{}}`
	if out, err := withConfigMAC([]byte(plain)); err != nil || string(out) != plain {
		t.Errorf("withConfigMAC without networks = %s, %v; want it unchanged", out, err)
	}
}

// attachment is host's attachment to network name on subnet, as the agent
// gives it: the gateway is .1, the resolver on it, the MAC api.MACFor.
func attachment(name, bridge string, subnet netip.Prefix, host byte) wrt.Attachment {
	b := subnet.Masked().Addr().As4()
	gw := b
	gw[3], b[3] = 1, host
	addr := netip.AddrFrom4(b)
	return wrt.Attachment{
		Network: name, Bridge: bridge,
		Address: netip.PrefixFrom(addr, subnet.Bits()),
		Gateway: netip.AddrFrom4(gw), DNS: netip.AddrFrom4(gw),
		MAC: api.MACFor(addr), MTU: 1450,
	}
}

// checkEndpoint checks the docker container's endpoint on a's network:
// its address and MAC, and the resolver among its DNS servers.
func checkEndpoint(t *testing.T, cli *client.Client, dockerID string, a wrt.Attachment) {
	t.Helper()
	in, err := cli.ContainerInspect(ctx20(t), dockerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := in.Container.NetworkSettings.Networks[networkName(a.Network)]
	if ep == nil {
		t.Fatalf("container %s is not on %s: %v", dockerID, networkName(a.Network), in.Container.NetworkSettings.Networks)
	}
	if ep.IPAddress != a.Address.Addr() || ep.IPPrefixLen != a.Address.Bits() || ep.MacAddress.String() != a.MAC {
		t.Errorf("endpoint on %s: %v/%d, MAC %s; want %v, MAC %s", a.Network, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress, a.Address, a.MAC)
	}
	found := false
	for _, s := range in.Container.HostConfig.DNS {
		found = found || s == a.DNS
	}
	if !found {
		t.Errorf("DNS servers %v, want %v among them", in.Container.HostConfig.DNS, a.DNS)
	}
}

// freeSubnet is a random /24 of 10.214.0.0/16 that no Docker network of
// the engine overlaps.
func freeSubnet(t *testing.T, cli *client.Client) netip.Prefix {
	t.Helper()
	list, err := cli.NetworkList(ctx20(t), client.NetworkListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		var b [1]byte
		_, _ = rand.Read(b[:])
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 214, b[0], 0}), 24)
		free := true
		for _, n := range list.Items {
			for _, c := range n.IPAM.Config {
				free = free && !c.Subnet.Overlaps(p)
			}
		}
		subnetsMu.Lock()
		taken := subnetsTaken[p]
		subnetsTaken[p] = true // tests in parallel take different ones
		subnetsMu.Unlock()
		if free && !taken {
			return p
		}
	}
	t.Fatal("no free /24 in 10.214.0.0/16")
	return netip.Prefix{}
}

// subnetsTaken are the subnets freeSubnet gave, guarded by subnetsMu.
var (
	subnetsMu    sync.Mutex
	subnetsTaken = map[netip.Prefix]bool{}
)

// removeNetworkAtEnd removes Docker network name when the test ends:
// call it before newDriver, whose cleanup removes the containers first.
func removeNetworkAtEnd(t *testing.T, cli *client.Client, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cli.NetworkRemove(ctx, name, client.NetworkRemoveOptions{})
		if err != nil && !cerrNotFound(err) {
			t.Errorf("cleanup: remove network %s: %v", name, err)
		}
	})
}

// makeNetwork makes a plain Docker bridge network on subnet.
func makeNetwork(t *testing.T, cli *client.Client, name string, subnet netip.Prefix) {
	t.Helper()
	_, err := cli.NetworkCreate(ctx20(t), name, client.NetworkCreateOptions{
		Driver: "bridge", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func randHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// requireRoot skips a test that needs root, or fails it under
// WHARF_REQUIRE_DOCKER=1.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv(dockertest.RequireEnv) == "1" {
		t.Fatalf("the test needs root (%s=1)", dockertest.RequireEnv)
	}
	t.Skip("the test needs root")
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// bridgeAddrs is the IPv4 addresses of interface name, as prefixes.
func bridgeAddrs(t *testing.T, name string) []string {
	t.Helper()
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			out = append(out, p.String())
		}
	}
	return out
}

// httpGet gets url, through dial if not nil, within a few seconds (tries
// again while the container's server starts), and returns the body.
func httpGet(t *testing.T, dial func(ctx context.Context, proto, addr string) (net.Conn, error), url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := c.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			if rerr == nil && res.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("status %s, %v", res.Status, rerr)
		}
		if time.Now().After(deadline) {
			t.Errorf("GET %s: %v", url, err)
			return ""
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inNetns is a dialer whose sockets are made in the network namespace of
// process pid (a container's).
func inNetns(pid int) func(ctx context.Context, proto, addr string) (net.Conn, error) {
	return func(ctx context.Context, proto, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			// The socket is made in the thread's namespace: lock the
			// thread, and let it die with the goroutine if it cannot go
			// back to the host's.
			runtime.LockOSThread()
			host, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer host.Close()
			target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
			if err != nil {
				ch <- result{nil, err}
				return
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{nil, fmt.Errorf("enter the network namespace of %d: %w", pid, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, proto, addr)
			ch <- result{c, err}
			if unix.Setns(int(host.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// TestNetworkDNS: a container's lookups reach the network's resolver (the
// node's, on the gateway address) through Docker's embedded DNS, short
// names included.
func TestNetworkDNS(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	cli := dockertest.Require(t)
	requireRoot(t)
	subnet := freeSubnet(t, cli)
	net1 := "t" + randHex(4)
	removeNetworkAtEnd(t, cli, networkName(net1))
	d := newDriver(t, "netdns-"+t.Name())
	a := attachment(net1, "wxn"+randHex(4), subnet, 30)
	s := spec(image, "dns1")
	s.Networks = []wrt.Attachment{a}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	// The node's resolver, as the agent runs it: here one that answers
	// every A question with answer.
	answer := netip.AddrFrom4([4]byte{10, 214, 0, 99})
	asked := serveDNS(t, netip.AddrPortFrom(a.DNS, 53), answer)

	in, err := cli.ContainerInspect(ctx20(t), st.DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dial := inNetns(in.Container.State.Pid)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx, "udp", "127.0.0.11:53") // Docker's embedded DNS
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := r.LookupNetIP(ctx, "ip4", "db")
	if err != nil || len(got) != 1 || got[0] != answer {
		t.Fatalf("lookup of db in the container = %v, %v; want %v from the network's resolver", got, err, answer)
	}
	select {
	case q := <-asked:
		if !strings.HasPrefix(q, "db.") {
			t.Errorf("the resolver was asked %q, want db", q)
		}
	default:
		t.Error("the network's resolver was not asked")
	}
}

// serveDNS answers DNS questions on udp addr until the test ends: an A
// question with answer, others with no records. It sends each question's
// name to the channel it returns, if there is room.
func serveDNS(t *testing.T, addr netip.AddrPort, answer netip.Addr) <-chan string {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("listen for DNS on %v: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	asked := make(chan string, 16)
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			name, reply, ok := dnsReply(buf[:n], answer)
			if !ok {
				continue
			}
			select {
			case asked <- name:
			default:
			}
			_, _ = pc.WriteToUDPAddrPort(reply, from)
		}
	}()
	return asked
}

// dnsReply parses a DNS query of one question and returns its name and a
// reply: answer for an A question, no records for any other.
func dnsReply(q []byte, answer netip.Addr) (string, []byte, bool) {
	if len(q) < 12 || q[4] != 0 || q[5] != 1 { // one question
		return "", nil, false
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > len(q) {
			return "", nil, false
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++ // the root label
	if i+4 > len(q) {
		return "", nil, false
	}
	qtype := int(q[i])<<8 | int(q[i+1])
	question := q[12 : i+4]
	reply := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, question...)
	if qtype == 1 {
		reply[7] = 1 // one answer
		a := answer.As4()
		// A pointer to the question's name, A, IN, TTL 5, 4 bytes.
		reply = append(reply, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, a[0], a[1], a[2], a[3])
	}
	return strings.Join(labels, ".") + ".", reply, true
}

// TestNetworkPrivateEngine: on an engine of its own (no iptables rules, as
// an agent's engine may be), a container gets its address on a bridge the
// overlay made first and on one Docker makes, and its published port.
func TestNetworkPrivateEngine(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	hostCli := dockertest.Require(t)
	requireRoot(t)
	engine := dockertest.StartEngine(t)
	cli, err := client.New(client.WithHost(engine))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	copyImage(t, hostCli, cli, image)

	pre := "wxq" + randHex(4)
	atts := []wrt.Attachment{
		attachment("t"+randHex(4), pre, freeSubnet(t, hostCli), 40),
		attachment("t"+randHex(4), "wxr"+randHex(4), freeSubnet(t, hostCli), 41),
	}
	ipCmd(t, "link", "add", pre, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", pre).Run() })
	ipCmd(t, "addr", "add", netip.PrefixFrom(atts[0].Gateway, atts[0].Address.Bits()).String(), "dev", pre)
	ipCmd(t, "link", "set", pre, "up")

	d, err := New(t.Context(), Options{Host: engine})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetNode("netpriv")
	// Before the engine stops: its containers, then its networks (an
	// engine stopped with a network leaves the bridge it made).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i, a := range atts {
			_ = d.Remove(ctx, fmt.Sprintf("priv%d", i))
			if _, err := cli.NetworkRemove(ctx, networkName(a.Network), client.NetworkRemoveOptions{}); err != nil && !cerrNotFound(err) {
				t.Errorf("cleanup: remove network %s: %v", networkName(a.Network), err)
			}
		}
		_ = exec.Command("ip", "link", "del", atts[1].Bridge).Run() // in case
	})
	for i, a := range atts {
		s := spec(image, fmt.Sprintf("priv%d", i))
		s.Networks = []wrt.Attachment{a}
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // vfs is slow
		st, err := d.Start(ctx, s)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		checkEndpoint(t, cli, st.DriverID, a)
		httpGet(t, nil, "http://"+netip.AddrPortFrom(a.Address.Addr(), 8080).String()+"/")
		httpGet(t, nil, fmt.Sprintf("http://127.0.0.1:%d/", st.HostPort))
	}
}

// copyImage copies image from engine src to engine dst.
func copyImage(t *testing.T, src, dst *client.Client, image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	saved, err := src.ImageSave(ctx, []string{image})
	if err != nil {
		t.Fatal(err)
	}
	defer saved.Close()
	loaded, err := dst.ImageLoad(ctx, saved)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if _, err := io.Copy(io.Discard, loaded); err != nil {
		t.Fatal(err)
	}
}

// TestFitAndOverlap: a network found under the name fits only with the
// attachment's bridge, subnet and gateway; another network's subnet or
// bridge is refused, naming it.
func TestFitAndOverlap(t *testing.T) {
	a := attachment("web", "wh0", netip.MustParsePrefix("10.7.0.0/16"), 9)
	ipam := func(s, gw string) network.IPAM {
		c := network.IPAMConfig{Subnet: netip.MustParsePrefix(s)}
		if gw != "" {
			c.Gateway = netip.MustParseAddr(gw)
		}
		return network.IPAM{Config: []network.IPAMConfig{c}}
	}
	fits := network.Network{Name: "wharf-web", Driver: "bridge", IPAM: ipam("10.7.0.0/16", "10.7.0.1"), Options: map[string]string{optBridgeName: "wh0"}}
	if err := fitNetwork("c1", fits, a); err != nil {
		t.Errorf("fitNetwork of a fitting network: %v", err)
	}
	for name, mod := range map[string]func(*network.Network){
		"other subnet":  func(n *network.Network) { n.IPAM = ipam("10.8.0.0/16", "") },
		"other gateway": func(n *network.Network) { n.IPAM = ipam("10.7.0.0/16", "10.7.0.254") },
		"other bridge":  func(n *network.Network) { n.Options = map[string]string{optBridgeName: "br-x"} },
		"other driver":  func(n *network.Network) { n.Driver = "macvlan" },
	} {
		n := fits
		mod(&n)
		if err := fitNetwork("c1", n, a); err == nil || !strings.Contains(err.Error(), "docker network rm wharf-web") {
			t.Errorf("fitNetwork, %s: %v; want a refusal saying to remove it", name, err)
		}
	}
	other := network.Network{Name: "bridge", Driver: "bridge", IPAM: ipam("10.7.128.0/17", ""), Options: map[string]string{optBridgeName: "docker0"}}
	if err := overlaps("c1", other, a); err == nil || !strings.Contains(err.Error(), "overlaps Docker network bridge (subnet 10.7.128.0/17)") {
		t.Errorf("overlaps of an overlapping subnet: %v", err)
	}
	other.IPAM = ipam("172.17.0.0/16", "")
	if err := overlaps("c1", other, a); err != nil {
		t.Errorf("overlaps of a disjoint subnet: %v", err)
	}
	other.Options[optBridgeName] = "wh0"
	if err := overlaps("c1", other, a); err == nil || !strings.Contains(err.Error(), "already uses bridge wh0") {
		t.Errorf("overlaps of a network on the bridge: %v", err)
	}
}
