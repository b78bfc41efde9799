package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/testserver"
)

// BenchmarkAgentIdle runs a real `wharf agent --driver fake` process joined
// to a `wharf server` process, waits until its node is Deployed, then lets
// it idle for WHARF_BENCH_IDLE (default 30s; the documented figure is for
// 300s) and reports its RSS (at the end and the peak seen) and the share of
// one core it used meanwhile.
func BenchmarkAgentIdle(b *testing.B) {
	idle := 30 * time.Second
	if v := os.Getenv("WHARF_BENCH_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("WHARF_BENCH_IDLE=%q: %v", v, err)
		}
		idle = d
	}
	for range b.N {
		s := testserver.Start(b, testserver.Options{})
		ctx := context.Background()
		jt, err := s.Client().JoinToken(ctx, false)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		logf, err := os.Create(filepath.Join(dir, "agent.log"))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(testserver.Binary(b), "agent", "--config", "/dev/null", "--server", s.URL, "--token", jt.Token,
			"--data-dir", filepath.Join(dir, "agent"), "--driver", "fake", "--name", "idle", "--log-level", "warn", "--witness-addr", "127.0.0.1:0")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
			_ = logf.Close()
		})
		waitFor(b, time.Minute, func() (bool, string) {
			nodes, err := s.Client().Nodes(ctx)
			if err != nil || len(nodes) != 1 || nodes[0].State != api.NodeDeployed {
				return false, "agent not Deployed"
			}
			return true, ""
		})
		pid := cmd.Process.Pid
		time.Sleep(2 * time.Second) // settle after the join
		cpu0, t0 := procCPU(b, pid), time.Now()
		var peak int64
		for time.Since(t0) < idle {
			time.Sleep(min(time.Second, idle-time.Since(t0)))
			peak = max(peak, procRSS(b, pid))
		}
		cpu, wall := procCPU(b, pid)-cpu0, time.Since(t0)
		rss := procRSS(b, pid)
		anon, file, err := testserver.ProcRSSSplit(pid)
		if err != nil {
			b.Fatal(err)
		}
		share := 100 * cpu.Seconds() / wall.Seconds()
		b.Logf("agent idle %s: RSS %.1f MB (peak %.1f MB; now %.1f MB its own, %.1f MB pages of the binary and other files), CPU %s = %.3f%% of one core",
			wall.Round(time.Second), mb(rss), mb(peak), mb(anon), mb(file), cpu, share)
		b.ReportMetric(mb(rss), "rss_MB")
		b.ReportMetric(mb(anon), "rss_anon_MB")
		b.ReportMetric(mb(peak), "peak_rss_MB")
		b.ReportMetric(share, "cpu_pct_of_core")
	}
}
