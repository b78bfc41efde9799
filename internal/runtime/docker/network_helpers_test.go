package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
