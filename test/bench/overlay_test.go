package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/overlay"
)

// BenchmarkOverlayThroughput measures TCP throughput with iperf3 (Debian's)
// between two "containers" on two "hosts" over Wharf's overlay (bridges,
// VXLAN devices and entries made by internal/overlay, as an agent makes
// them), and between the two hosts over their underlay, in one run. Hosts
// and containers are network namespaces: a host is what an agent
// container of the multi-host harness is (a namespace with a veth onto
// the underlay), a container what the exec driver makes (a namespace with
// a veth into the bridge). Each measurement runs iperf3 for
// WHARF_BENCH_IPERF (default 5s). It needs root and iperf3.
func BenchmarkOverlayThroughput(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("needs iperf3 (apt-get install iperf3)")
	}
	secs := "5"
	if v := os.Getenv("WHARF_BENCH_IPERF"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("WHARF_BENCH_IPERF=%q: %v", v, err)
		}
		secs = fmt.Sprint(int(d.Seconds()))
	}
	tp := newOverlayTopology(b)
	var over, under float64
	for range b.N {
		under += iperf(b, tp.hostA, tp.hostB, "192.168.251.2", secs)
		over += iperf(b, tp.ctrA, tp.ctrB, "10.251.0.3", secs)
	}
	n := float64(b.N)
	b.ReportMetric(under/n/1e9, "underlay-Gbit/s")
	b.ReportMetric(over/n/1e9, "overlay-Gbit/s")
	b.ReportMetric(over/under, "overlay/underlay")
}

type overlayTopology struct {
	hostA, hostB, ctrA, ctrB string
}

// newOverlayTopology makes two hosts joined by a veth underlay
// (192.168.251.1 and .2), an overlay network (VNI 4251, 10.251.0.0/24)
// on each through overlay.Manager, and one container on each (10.251.0.2
// on A, .3 on B), and removes it all when b ends.
func newOverlayTopology(b *testing.B) *overlayTopology {
	var id [3]byte
	_, _ = rand.Read(id[:])
	sfx := hex.EncodeToString(id[:])
	tp := &overlayTopology{hostA: "whbha" + sfx, hostB: "whbhb" + sfx, ctrA: "whbca" + sfx, ctrB: "whbcb" + sfx}
	for _, ns := range []string{tp.hostA, tp.hostB, tp.ctrA, tp.ctrB} {
		ipCmd(b, "netns", "add", ns)
		b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(b, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(b, "link", "add", "whbua"+sfx, "netns", tp.hostA, "type", "veth", "peer", "name", "whbub"+sfx, "netns", tp.hostB)
	ipCmd(b, "-n", tp.hostA, "addr", "add", "192.168.251.1/24", "dev", "whbua"+sfx)
	ipCmd(b, "-n", tp.hostB, "addr", "add", "192.168.251.2/24", "dev", "whbub"+sfx)
	ipCmd(b, "-n", tp.hostA, "link", "set", "whbua"+sfx, "up")
	ipCmd(b, "-n", tp.hostB, "link", "set", "whbub"+sfx, "up")
	// A host's NIC receives with GRO on (veths have it off): with ethtool
	// at hand the underlay does too, for the underlay's figure and the
	// overlay's alike.
	if _, err := exec.LookPath("ethtool"); err == nil {
		for _, d := range [][2]string{{tp.hostA, "whbua" + sfx}, {tp.hostB, "whbub" + sfx}} {
			if out, err := exec.Command("ip", "netns", "exec", d[0], "ethtool", "-K", d[1], "gro", "on").CombinedOutput(); err != nil {
				b.Logf("ethtool -K %s gro on: %v: %s", d[1], err, out)
			}
		}
	}

	att := api.NetworkAttachment{Network: "default.default", Name: "default", VNI: 4251, Subnet: "10.251.0.0/24", Gateway: "10.251.0.1"}
	state := api.NetworkState{Revision: 1, Networks: []api.NodeNetwork{{ID: att.Network, Name: att.Name, VNI: att.VNI, Subnet: att.Subnet, Gateway: att.Gateway,
		Peers: []api.NetworkPeer{{Node: "a", Address: "192.168.251.1", Endpoints: []string{"10.251.0.2"}},
			{Node: "b", Address: "192.168.251.2", Endpoints: []string{"10.251.0.3"}}}}}}
	for _, h := range []struct{ host, ctr, self, underlay, ip string }{
		{tp.hostA, tp.ctrA, "a", "192.168.251.1", "10.251.0.2"},
		{tp.hostB, tp.ctrB, "b", "192.168.251.2", "10.251.0.3"},
	} {
		handle, err := netns.GetFromName(h.host)
		if err != nil {
			b.Fatal(err)
		}
		m, err := overlay.New(overlay.Config{Underlay: netip.MustParseAddr(h.underlay), Netns: handle})
		if err != nil {
			b.Fatal(err)
		}
		bridge, err := m.Ensure(att)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(state, h.self); err != nil {
			b.Fatal(err)
		}
		mtu := fmt.Sprint(m.MTU())
		m.Close()
		_ = handle.Close()
		veth := "whbv" + h.self + sfx
		ipCmd(b, "-n", h.host, "link", "add", veth, "mtu", mtu, "type", "veth", "peer", "name", "eth0", "netns", h.ctr)
		ipCmd(b, "-n", h.host, "link", "set", veth, "master", bridge, "up")
		ip := netip.MustParseAddr(h.ip)
		ipCmd(b, "-n", h.ctr, "link", "set", "eth0", "address", api.MACFor(ip), "mtu", mtu, "up")
		ipCmd(b, "-n", h.ctr, "addr", "add", h.ip+"/24", "dev", "eth0")
	}
	return tp
}

func ipCmd(b *testing.B, args ...string) {
	b.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		b.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// iperf runs an iperf3 server in namespace srv and a client in cli for
// secs seconds, and returns the bits per second the server received.
func iperf(b *testing.B, cli, srv, addr, secs string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	server := exec.CommandContext(ctx, "ip", "netns", "exec", srv, "iperf3", "-s", "-1", "-p", "5299")
	var serverOut bytes.Buffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	var out []byte
	var err error
	for range 50 { // the server needs a moment to listen
		out, err = exec.CommandContext(ctx, "ip", "netns", "exec", cli, "iperf3", "-c", addr, "-p", "5299", "-t", secs, "-J").Output()
		// iperf3 -J may say so in its JSON and exit 0.
		if !bytes.Contains(out, []byte("Connection refused")) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.Fatalf("iperf3 -c %s: %v: %s\nserver: %s", addr, err, out, serverOut.Bytes())
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.End.SumReceived.BitsPerSecond == 0 {
		b.Fatalf("iperf3 -c %s: no throughput in its output (%v): %s", addr, err, out)
	}
	return res.End.SumReceived.BitsPerSecond
}
