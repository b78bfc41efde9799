package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/testcluster"
	"github.com/wharfhq/wharf/internal/testserver"
)

// BenchmarkHollowNodes joins N hollow agents (fake driver, each its own
// identity and mTLS session, all in this process) to one server, then
// places a service of R replicas over them. "process" runs the real `wharf
// server` as a child process so that its RSS is the server's alone;
// "inprocess" runs it in this process (testcluster) and reports the Go heap.
// WHARF_BENCH_NODES (default 1000) and WHARF_BENCH_REPLICAS (default 10000)
// change the sizes. At each stage "process" also has the server (run with
// --profile-dir) collect garbage and write heap-N.pprof and cpu-N.pprof
// (the CPU profile since the stage before; N = 1 empty, 2 nodes, 3
// replicas) into WHARF_BENCH_PROFILE_DIR (default: a temporary dir, removed
// afterwards), and logs RSS split into anonymous and file pages, the heap
// in use before and after that collection, goroutines and CPU time.
// WHARF_BENCH_SERVER_GOGC and WHARF_BENCH_SERVER_GOMEMLIMIT set the
// server's GOGC and GOMEMLIMIT (default: the server's own, see
// serverGCPercent in internal/cli). WHARF_BENCH_STEADY=<duration> also
// samples the server's RSS every second for that long once the replicas
// run, before the stage's collection, and reports the largest.
func BenchmarkHollowNodes(b *testing.B) {
	n, r := envInt(b, "WHARF_BENCH_NODES", 1000), envInt(b, "WHARF_BENCH_REPLICAS", 10000)
	b.Run("process", func(b *testing.B) {
		for range b.N {
			profDir := os.Getenv("WHARF_BENCH_PROFILE_DIR")
			if profDir == "" {
				profDir = b.TempDir()
			}
			var env []string
			if v := os.Getenv("WHARF_BENCH_SERVER_GOGC"); v != "" {
				env = append(env, "GOGC="+v)
			}
			if v := os.Getenv("WHARF_BENCH_SERVER_GOMEMLIMIT"); v != "" {
				env = append(env, "GOMEMLIMIT="+v)
			}
			var steady time.Duration
			if v := os.Getenv("WHARF_BENCH_STEADY"); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil {
					b.Fatalf("WHARF_BENCH_STEADY: %v", err)
				}
				steady = d
			}
			s := testserver.Start(b, testserver.Options{Args: []string{"--profile-dir", profDir}, Env: env})
			rssAt := map[string]int64{}
			step := 0
			hollowRun(b, s.Client(), s.URL, n, r, func(stage string) {
				rss := procRSS(b, s.Pid())
				anon, file, err := testserver.ProcRSSSplit(s.Pid())
				if err != nil {
					b.Fatal(err)
				}
				heap := metric(b, s, "go_memstats_heap_inuse_bytes")
				if stage == "replicas" && steady > 0 {
					steadyRSS(b, s.Pid(), steady)
				}
				step++
				serverProfile(b, s, profDir, step)
				heapGC := metric(b, s, "go_memstats_heap_inuse_bytes")
				gor := metric(b, s, "go_goroutines")
				stacks := metric(b, s, "go_memstats_stack_inuse_bytes")
				idle := metric(b, s, "go_memstats_heap_idle_bytes") - metric(b, s, "go_memstats_heap_released_bytes")
				b.Logf("%-9s server RSS %6.1f MB (anon %6.1f, file %5.1f), heap in use %6.1f MB, %6.1f MB after a GC, heap idle not returned %5.1f MB, %d goroutines (stacks %5.1f MB), CPU %s",
					stage, mb(rss), mb(anon), mb(file), mb(heap), mb(heapGC), mb(idle), gor, mb(stacks), procCPU(b, s.Pid()).Round(time.Millisecond))
				b.Logf("%-9s runtime: sys %.1f MB = heap %.1f (released %.1f) + stacks %.1f + GC metadata %.1f + spans %.1f + other %.1f",
					stage, mb(metric(b, s, "go_memstats_sys_bytes")), mb(metric(b, s, "go_memstats_heap_sys_bytes")), mb(metric(b, s, "go_memstats_heap_released_bytes")),
					mb(metric(b, s, "go_memstats_stack_sys_bytes")), mb(metric(b, s, "go_memstats_gc_sys_bytes")), mb(metric(b, s, "go_memstats_mspan_sys_bytes")),
					mb(metric(b, s, "go_memstats_other_sys_bytes")))
				b.Logf("%-9s profiles: %s", stage, filepath.Join(profDir, fmt.Sprintf("{heap-%[1]d.pprof,goroutine-%[1]d.txt,cpu-%[1]d.pprof}", step)))
				if stage == "nodes" {
					// The server's CPU while the nodes only send heartbeats.
					const idle = 10 * time.Second
					before := procCPU(b, s.Pid())
					time.Sleep(idle)
					used := procCPU(b, s.Pid()) - before
					b.Logf("%-9s server CPU with %d idle nodes: %.1f%% of a core", stage, n, 100*used.Seconds()/idle.Seconds())
					b.ReportMetric(100*used.Seconds()/idle.Seconds(), "server_idle_cpu_%")
				}
				b.ReportMetric(mb(rss), "server_rss_MB_"+stage)
				b.ReportMetric(mb(heapGC), "server_heap_gc_MB_"+stage)
				rssAt[stage] = rss
			})
			b.ReportMetric(float64(rssAt["nodes"]-rssAt["empty"])/float64(n)/1024, "KB_per_node")
			if r > 0 {
				b.ReportMetric(float64(rssAt["replicas"]-rssAt["nodes"])/float64(r)/1024, "KB_per_container")
			}
		}
	})
	b.Run("inprocess", func(b *testing.B) {
		for range b.N {
			c := testcluster.Start(b, testcluster.Options{})
			hollowRun(b, c.Client, c.URL, n, r, func(stage string) {
				goruntime.GC()
				var ms goruntime.MemStats
				goruntime.ReadMemStats(&ms)
				rss := procRSS(b, os.Getpid())
				b.Logf("%-9s process (server+agents) RSS %6.1f MB, heap in use %6.1f MB", stage, mb(rss), mb(int64(ms.HeapInuse)))
				b.ReportMetric(mb(int64(ms.HeapInuse)), "heap_MB_"+stage)
			})
		}
	})
}

// hollowRun measures at stage "empty", joins n hollow nodes ("nodes"), then
// runs r replicas ("replicas"), calling measure after each.
func hollowRun(b *testing.B, cl *client.Client, url string, n, r int, measure func(stage string)) {
	ctx := context.Background()
	time.Sleep(2 * time.Second)
	measure("empty")
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := time.Now()
	joinHollow(hctx, b, &wg, url, cl.JoinToken, n)
	waitDeployed(ctx, b, cl, n)
	joined := time.Since(start)
	b.Logf("%d nodes Deployed in %s (%.0f joins/s)", n, joined.Round(time.Millisecond), float64(n)/joined.Seconds())
	b.ReportMetric(joined.Seconds(), "s_to_deploy_nodes")
	time.Sleep(5 * time.Second) // a few heartbeats
	measure("nodes")

	start = time.Now()
	if _, err := cl.CreateService(ctx, "hollow", api.ServiceSpec{Command: []string{"hollow"}, Driver: "fake", Replicas: r}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 10*time.Minute, func() (bool, string) {
		s, err := cl.Service(ctx, "hollow")
		if err != nil {
			return false, err.Error()
		}
		return s.Status.RunningContainers == r, fmt.Sprintf("%d of %d Running (pending: %q)", s.Status.RunningContainers, r, s.Status.Pending)
	})
	placed := time.Since(start)
	b.Logf("%d replicas Running in %s (%.0f/s)", r, placed.Round(time.Millisecond), float64(r)/placed.Seconds())
	b.ReportMetric(placed.Seconds(), "s_to_run_replicas")
	time.Sleep(5 * time.Second)
	measure("replicas")
}

// waitFor polls fn every 500 ms until it is done, or fails b after
// timeout.
func waitFor(b *testing.B, timeout time.Duration, fn func() (bool, string)) {
	b.Helper()
	pollFor(b, timeout, 500*time.Millisecond, fn)
}

// pollFor polls fn every interval until it is done, or fails b after
// timeout.
func pollFor(b *testing.B, timeout, interval time.Duration, fn func() (bool, string)) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := fn()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("not within %s: %s", timeout, msg)
		}
		time.Sleep(interval)
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func TestMain(m *testing.M) { testserver.Main(m) }

// metric reads one gauge from the server's /metrics.
func metric(b *testing.B, s *testserver.Server, name string) int64 {
	b.Helper()
	v, err := s.Metric(name)
	if err != nil {
		b.Fatal(err)
	}
	return int64(v)
}

// procRSS is VmRSS of pid, in bytes.
func procRSS(b *testing.B, pid int) int64 {
	b.Helper()
	rss, err := testserver.ProcRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	return rss
}

// steadyRSS samples pid's RSS every second for d, logs the smallest,
// median and largest, and reports the largest.
func steadyRSS(b *testing.B, pid int, d time.Duration) {
	b.Helper()
	var got []int64
	var series strings.Builder
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Second) {
		rss := procRSS(b, pid)
		got = append(got, rss)
		fmt.Fprintf(&series, " %.0f", mb(rss))
	}
	b.Logf("steady    server RSS each second (MB):%s", series.String())
	slices.Sort(got)
	b.Logf("steady    server RSS over %s, sampled each second: smallest %.1f MB, median %.1f MB, largest %.1f MB",
		d, mb(got[0]), mb(got[len(got)/2]), mb(got[len(got)-1]))
	b.ReportMetric(mb(got[len(got)-1]), "server_rss_MB_steady_max")
}

// procCPU is the user plus system CPU time pid has used.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	cpu, err := testserver.ProcCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}

// waitDeployed waits until n nodes are Deployed.
func waitDeployed(ctx context.Context, b *testing.B, cl *client.Client, n int) {
	waitFor(b, 10*time.Minute, func() (bool, string) {
		nodes, err := cl.Nodes(ctx)
		if err != nil {
			return false, err.Error()
		}
		up := 0
		for _, nd := range nodes {
			if nd.State == api.NodeDeployed {
				up++
			}
		}
		return up == n, fmt.Sprintf("%d of %d nodes Deployed", up, n)
	})
}

// serverProfile asks the server for profile step n (SIGUSR1: a garbage
// collection, heap-n.pprof, cpu-n.pprof; see internal/profiling) and waits
// until cpu-n.pprof, the last file written, is there.
func serverProfile(b *testing.B, s *testserver.Server, dir string, n int) {
	b.Helper()
	if err := syscall.Kill(s.Pid(), syscall.SIGUSR1); err != nil {
		b.Fatal(err)
	}
	name := filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", n))
	waitFor(b, time.Minute, func() (bool, string) {
		_, err := os.Stat(name)
		return err == nil, fmt.Sprintf("no %s: %v", name, err)
	})
}
