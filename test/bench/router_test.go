package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRouter measures Wharf's router (internal/router, in its own
// process: test/bench/routerd) against HAProxy 2.6 from Debian configured
// as dockercloud/haproxy configures itself, and against no proxy at all,
// over the same backends: nginx from Debian serving a 1,008-byte page on
// two ports of loopback. A fourth target is the floor under any router
// built on net/http: a bare httputil.ReverseProxy, round robin, with
// pooled buffers (routerd -bare), also in a process of its own. A fifth,
// go-floor (routerd -floor), does
// no HTTP at all: it copies each client connection both ways to a backend
// connection of its own, the least work any Go proxy does, so that what
// separates it from HAProxy is Go's poller and scheduler. One run measures
// the five targets one after the other with the same wrk settings:
//
//   - throughput: wrk -t 2 -c WHARF_ROUTER_BENCH_CONNS (64) -d
//     WHARF_ROUTER_BENCH_SECONDS (10) --latency: requests per second, p50
//     and p99, and the proxy's CPU time per request (from /proc);
//   - latency of one hop: wrk -t 1 -c 1 for half as long, one request at a
//     time, so that the p50 a proxy adds is its own work and not the
//     queue that 64 connections make on two cores;
//   - with h2load installed, HTTP/2 (h2c, prior knowledge) through the
//     router and through HAProxy: h2load -t 2 -c 64 -m 10 for the same
//     time (the backends are still spoken to in HTTP/1.1).
//
// Figures are reported, not asserted. Every process shares the machine's
// cores unless WHARF_ROUTER_BENCH_PIN=1, which runs wrk and h2load on CPU 0
// and nginx (one worker) and the proxies on CPU 1. WHARF_ROUTER_BENCH_PROFILE
// names a file for a CPU profile of the router process over the whole run.
// It runs only with WHARF_ROUTER_BENCH=1 (about 120 s of both cores), and
// needs wrk, nginx and haproxy (apt-get install -y wrk nginx-light haproxy).
func BenchmarkRouter(b *testing.B) {
	if os.Getenv("WHARF_ROUTER_BENCH") != "1" {
		b.Skip("set WHARF_ROUTER_BENCH=1 to run it (about 80 s of wrk on every core)")
	}
	for _, tool := range []string{"wrk", "nginx", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed (apt-get install -y wrk nginx-light haproxy): %v", tool, err)
		}
	}
	secs := envInt(b, "WHARF_ROUTER_BENCH_SECONDS", 10)
	conns := envInt(b, "WHARF_ROUTER_BENCH_CONNS", 64)
	if secs < 1 || secs > 120 || conns < 1 || conns > 1024 {
		b.Fatalf("WHARF_ROUTER_BENCH_SECONDS=%d (1 to 120) or WHARF_ROUTER_BENCH_CONNS=%d (1 to 1024) is out of range", secs, conns)
	}
	clientCPU, serverCPU, workers := "", "", 2
	if os.Getenv("WHARF_ROUTER_BENCH_PIN") == "1" {
		if _, err := exec.LookPath("taskset"); err != nil {
			b.Fatalf("WHARF_ROUTER_BENCH_PIN=1 needs taskset (util-linux): %v", err)
		}
		clientCPU, serverCPU, workers = "0", "1", 1
	}
	profile := os.Getenv("WHARF_ROUTER_BENCH_PROFILE")
	if profile != "" {
		if abs, err := filepath.Abs(profile); err == nil {
			profile = abs
		}
	}

	dir := b.TempDir()
	backends, _ := startNginx(b, dir, serverCPU, workers)
	routerAddr, routerd := startRouterd(b, dir, serverCPU, backends, profile)
	bareAddr, bared := startRouterd(b, dir, serverCPU, backends, "", "-bare")
	floorAddr, floord := startRouterd(b, dir, serverCPU, backends, "", "-floor")
	haAddr, haH2, haPID := startHAProxy(b, dir, serverCPU, backends)
	targets := []struct {
		name, url string
		pid       int // the proxy's process, whose CPU time is counted; 0 for none
	}{
		{"direct", "http://" + backends[0] + "/", 0},
		{"router", "http://" + routerAddr + "/", routerd.Process.Pid},
		{"haproxy", "http://" + haAddr + "/", haPID},
		{"go-bare", "http://" + bareAddr + "/", bared.Process.Pid},
		{"go-floor", "http://" + floorAddr + "/", floord.Process.Pid},
	}
	b.Logf("load before the run: %s", loadavg())
	b.ResetTimer()
	for range b.N {
		got := map[string]wrkResult{}
		for _, t := range targets {
			var cpu0 time.Duration
			if t.pid != 0 {
				cpu0 = procCPU(b, t.pid)
			}
			r := runWrk(b, clientCPU, t.url, 2, conns, secs)
			if t.pid != 0 && r.requests > 0 {
				r.cpuPerReq = (procCPU(b, t.pid) - cpu0) / time.Duration(r.requests)
			}
			one := runWrk(b, clientCPU, t.url, 1, 1, max(1, secs/2))
			r.serialP50, r.serialP99 = one.p50, one.p99
			got[t.name] = r
			b.Logf("%-7s %s", t.name, r)
		}
		for _, t := range targets {
			r := got[t.name]
			b.ReportMetric(r.rps, t.name+"-req/s")
			b.ReportMetric(us(r.p50), t.name+"-p50-µs")
			b.ReportMetric(us(r.p99), t.name+"-p99-µs")
			b.ReportMetric(us(r.serialP50), t.name+"-serial-p50-µs")
			b.ReportMetric(float64(r.errors), t.name+"-errors")
			if t.pid != 0 {
				b.ReportMetric(us(r.cpuPerReq), t.name+"-cpu-µs/req")
				b.ReportMetric(us(r.p50-got["direct"].p50), t.name+"-added-p50-µs")
				b.ReportMetric(us(r.serialP50-got["direct"].serialP50), t.name+"-added-serial-p50-µs")
			}
		}
		b.ReportMetric(got["router"].rps/got["haproxy"].rps, "router/haproxy")
		b.ReportMetric(got["router"].rps/got["go-bare"].rps, "router/go-bare")
		b.ReportMetric(got["go-floor"].rps/got["haproxy"].rps, "go-floor/haproxy")
		if _, err := exec.LookPath("h2load"); err == nil {
			rr := runH2load(b, clientCPU, "http://"+routerAddr+"/", conns, secs)
			hr := runH2load(b, clientCPU, "http://"+haH2+"/", conns, secs)
			b.ReportMetric(rr, "router-h2-req/s")
			b.ReportMetric(hr, "haproxy-h2-req/s")
		} else {
			b.Logf("h2load is not installed (apt-get install -y nghttp2-client): no HTTP/2 figures")
		}
	}
	b.StopTimer()
	b.Logf("load after the run: %s", loadavg())
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.Join(strings.Fields(string(raw))[:3], " ")
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps                  float64
	requests             int
	p50, p99             time.Duration
	errors               int // non-2xx/3xx answers and socket errors
	cpuPerReq            time.Duration
	serialP50, serialP99 time.Duration
}

func (r wrkResult) String() string {
	return fmt.Sprintf("%.0f req/s, p50 %v, p99 %v, %d errors, proxy CPU %v/req; one connection: p50 %v, p99 %v",
		r.rps, r.p50, r.p99, r.errors, r.cpuPerReq, r.serialP50, r.serialP99)
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(\d+) requests in`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocketEr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk runs wrk against url for routerHost, bounded by secs (and a
// timeout of secs+30 s), and parses its report.
func runWrk(b *testing.B, cpus, url string, threads, conns, secs int) wrkResult {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	out, err := pinned(ctx, cpus, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-H", "Host: "+routerHost, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk against %s: %v\n%s", url, err, out)
	}
	var r wrkResult
	m := wrkRPS.FindSubmatch(out)
	t := wrkTotal.FindSubmatch(out)
	if m == nil || t == nil {
		b.Fatalf("wrk against %s printed no requests per second:\n%s", url, out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	r.requests, _ = strconv.Atoi(string(t[1]))
	for _, p := range wrkPct.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		d := time.Duration(v * float64(map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(p[3])]))
		if string(p[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		b.Fatalf("wrk against %s printed no latency distribution:\n%s", url, out)
	}
	if n := wrkNon2xx.FindSubmatch(out); n != nil {
		r.errors, _ = strconv.Atoi(string(n[1]))
	}
	if s := wrkSocketEr.FindSubmatch(out); s != nil {
		for _, f := range s[1:] {
			n, _ := strconv.Atoi(string(f))
			r.errors += n
		}
	}
	return r
}

var (
	h2RPS  = regexp.MustCompile(`finished in [0-9.]+m?s, ([0-9.]+) req/s`)
	h2Reqs = regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Mean = regexp.MustCompile(`time for request:\s+\S+\s+\S+\s+(\S+)`)
	h2Code = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// runH2load drives url with HTTP/2 over cleartext (prior knowledge) for
// routerHost: h2load -t 2 -c conns -m 10 for secs seconds; it returns the
// requests per second and logs the report's summary.
func runH2load(b *testing.B, cpus, url string, conns, secs int) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	out, err := pinned(ctx, cpus, "h2load", "-t", "2", "-c", strconv.Itoa(conns), "-m", "10",
		"-D", strconv.Itoa(secs), "-H", ":authority: "+routerHost, url).CombinedOutput()
	if err != nil {
		b.Fatalf("h2load against %s: %v\n%s", url, err, out)
	}
	m, reqs, codes := h2RPS.FindSubmatch(out), h2Reqs.FindSubmatch(out), h2Code.FindSubmatch(out)
	if m == nil || reqs == nil || codes == nil {
		b.Fatalf("h2load against %s printed no summary:\n%s", url, out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	mean := "?"
	if mm := h2Mean.FindSubmatch(out); mm != nil {
		mean = string(mm[1])
	}
	b.Logf("h2load %s: %.0f req/s, %s succeeded (%s 2xx, %s 4xx, %s 5xx), %s failed, %s errored, %s timeout; mean time for request %s",
		url, rps, reqs[1], codes[1], codes[3], codes[4], reqs[2], reqs[3], reqs[4], mean)
	if n, _ := strconv.Atoi(string(codes[1])); n == 0 {
		b.Fatalf("h2load against %s: no 2xx answer:\n%s", url, out)
	}
	return rps
}
