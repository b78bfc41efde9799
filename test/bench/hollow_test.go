package bench

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
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
// change the sizes.
func BenchmarkHollowNodes(b *testing.B) {
	n, r := envInt(b, "WHARF_BENCH_NODES", 1000), envInt(b, "WHARF_BENCH_REPLICAS", 10000)
	b.Run("process", func(b *testing.B) {
		for range b.N {
			s := testserver.Start(b, testserver.Options{})
			rssAt := map[string]int64{}
			hollowRun(b, s.Client(), s.URL, n, r, func(stage string) {
				rss := procRSS(b, s.Pid())
				heap := metric(b, s, "go_memstats_heap_inuse_bytes")
				b.Logf("%-9s server RSS %6.1f MB, heap in use %6.1f MB", stage, mb(rss), mb(heap))
				b.ReportMetric(mb(rss), "server_rss_MB_"+stage)
				rssAt[stage] = rss
			})
			b.ReportMetric(float64(rssAt["nodes"]-rssAt["empty"])/float64(n)/1024, "KB_per_node")
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

func waitFor(b *testing.B, timeout time.Duration, fn func() (bool, string)) {
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
		time.Sleep(500 * time.Millisecond)
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
