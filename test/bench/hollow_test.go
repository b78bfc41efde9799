package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
	"github.com/wharfhq/wharf/internal/testcluster"
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
			s := startServerProc(b)
			hollowRun(b, s.client, s.url, n, r, func(stage string) {
				rss := procRSS(b, s.cmd.Process.Pid)
				heap := s.metric(b, "go_memstats_heap_inuse_bytes")
				b.Logf("%-9s server RSS %6.1f MB, heap in use %6.1f MB", stage, mb(rss), mb(heap))
				b.ReportMetric(mb(rss), "server_rss_MB_"+stage)
				s.rss[stage] = rss
			})
			b.ReportMetric(float64(s.rss["nodes"]-s.rss["empty"])/float64(n)/1024, "KB_per_node")
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
	jt, err := cl.JoinToken(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	dir := b.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	start := time.Now()
	for i := range n {
		a, err := agent.New(agent.Config{
			ServerURL: url, JoinToken: jt.Token, DataDir: filepath.Join(dir, strconv.Itoa(i)),
			Drivers: []runtime.Driver{fake.New()}, Hostname: fmt.Sprintf("hollow-%04d", i), Logger: quiet,
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = a.Run(hctx) })
	}
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

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// wharfBin is $WHARF_BIN, or the wharf binary built once for this run.
func wharfBin(b *testing.B) string {
	b.Helper()
	binOnce.Do(func() {
		if binPath = os.Getenv("WHARF_BIN"); binPath != "" {
			return
		}
		dir, err := os.MkdirTemp("", "wharf-bench-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "wharf")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/wharfhq/wharf/cmd/wharf").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build wharf: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

// serverProc is a `wharf server` child process.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	dir    string
	client *client.Client
	http   *http.Client
	rss    map[string]int64
}

func startServerProc(b *testing.B) *serverProc {
	b.Helper()
	dir := b.TempDir()
	addr, agentAddr := freeAddr(b), freeAddr(b)
	s := &serverProc{url: "https://" + addr, dir: dir, rss: map[string]int64{}}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		b.Fatal(err)
	}
	s.cmd = exec.Command(wharfBin(b), "server", "--data-dir", filepath.Join(dir, "data"), "--addr", addr,
		"--agent-addr", agentAddr, "--advertise", "127.0.0.1", "--log-level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _, _ = s.cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
	})
	waitFor(b, time.Minute, func() (bool, string) {
		tok, err := os.ReadFile(filepath.Join(dir, "data", "admin-token"))
		if err != nil {
			return false, err.Error()
		}
		ca, err := os.ReadFile(filepath.Join(dir, "data", "ca.crt"))
		if err != nil {
			return false, err.Error()
		}
		cl, err := client.New(client.Options{Addr: s.url, Token: strings.TrimSpace(string(tok)), CACert: ca})
		if err != nil {
			return false, err.Error()
		}
		if err := cl.Do(context.Background(), http.MethodGet, "/readyz", nil, nil); err != nil {
			return false, err.Error()
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		s.client, s.http = cl, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		return true, ""
	})
	return s
}

// metric reads one gauge from the server's /metrics.
func (s *serverProc) metric(b *testing.B, name string) int64 {
	resp, err := s.http.Get(s.url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	b.Fatalf("no %s in /metrics", name)
	return 0
}

// procRSS is VmRSS of pid, in bytes.
func procRSS(b *testing.B, pid int) int64 {
	b.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// procCPU is the user plus system CPU time pid has used (USER_HZ is 100 on
// Linux).
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func freeAddr(b *testing.B) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testcluster.FreePort(b)))
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
