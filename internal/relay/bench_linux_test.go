package relay

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestRelayThroughput measures TCP throughput (iperf3, 3 s) between the
// two hosts' underlay, between the containers directly over VXLAN, and
// between the containers through the relay (in process, and over HTTP
// streams). It runs with WHARF_RELAY_BENCH=1 only.
func TestRelayThroughput(t *testing.T) {
	if os.Getenv("WHARF_RELAY_BENCH") != "1" {
		t.Skip("set WHARF_RELAY_BENCH=1 to measure the relay's throughput")
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("no iperf3")
	}
	results := map[string]float64{}
	for _, streams := range []bool{false, true} {
		name := "relay in-process"
		if streams {
			name = "relay over HTTP stream"
		}
		t.Run(name, func(t *testing.T) {
			tp := newTopology(t, streams)
			tp.waitStatus(t, Direct)
			iperfServer(t, tp.b.name)
			iperfServer(t, tp.b.ctrName)
			if !streams {
				results["underlay"] = iperf(t, tp.a.name, tp.b.underlay.String())
				results["overlay direct"] = iperf(t, tp.a.ctrName, tp.b.ctrIP.String())
			}
			tp.block(t, true)
			tp.waitStatus(t, Relayed)
			tp.a.fdb(t, tp.b, RelayAddr)
			tp.b.fdb(t, tp.a, RelayAddr)
			results[name] = iperf(t, tp.a.ctrName, tp.b.ctrIP.String())
			t.Logf("a %+v, b %+v", tp.a.relay.Stats(), tp.b.relay.Stats())
		})
	}
	for _, k := range []string{"underlay", "overlay direct", "relay in-process", "relay over HTTP stream"} {
		t.Logf("%-24s %8.0f Mbit/s", k, results[k]/1e6)
	}
}

// iperfServer runs an iperf3 server in a namespace for the test.
func iperfServer(t *testing.T, ns string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "iperf3", "-s")
	must(t, "start iperf3 -s", cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	time.Sleep(300 * time.Millisecond)
}

// iperf runs a 3 s iperf3 client from ns to addr and returns bit/s.
func iperf(t *testing.T, ns, addr string) float64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "iperf3", "-c", addr, "-t", "3", "-J").Output()
	if err != nil {
		t.Fatalf("iperf3 from %s to %s: %v: %s", ns, addr, err, out)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	must(t, "iperf3 output", json.Unmarshal(out, &r))
	return r.End.SumReceived.BitsPerSecond
}
