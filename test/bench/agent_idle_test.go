package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/testserver"
)

// idleAgent is one agent process of BenchmarkAgentIdle.
type idleAgent struct {
	name string // the node's name, and what the figures are labelled
	cmd  *exec.Cmd
	cpu0 time.Duration
	peak int64
}

// BenchmarkAgentIdle runs two real agent processes (--driver fake), joined
// to the same `wharf server` process, side by side: "installed", the
// binary the server's /install.sh installs on a host (the agent-only build
// wharf-agent, which `make build` puts beside bin/wharf), downloaded from
// the server's /download/ and installed as the script does, then run as
// its systemd unit runs it (`wharf-agent agent --config ...`); and "full",
// `wharf agent` of the one wharf binary, installed the same way. Once both
// nodes are Deployed they idle for WHARF_BENCH_IDLE (default 30s; the
// documented figure is for 300s) and it reports, for each, its RSS at the
// end, split into its own memory (RssAnon) and pages of its binary
// (RssFile), the peak RSS seen, and the share of one core it used
// meanwhile.
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
		installed := downloadAgent(b, s, filepath.Join(dir, "wharf-agent"))
		full, err := os.ReadFile(testserver.Binary(b))
		if err != nil {
			b.Fatal(err)
		}
		fullPath := filepath.Join(dir, "wharf")
		install(b, fullPath, full) // as install.sh did before wharf-agent
		agents := []*idleAgent{
			startIdleAgent(b, s, jt.Token, dir, "installed", installed),
			startIdleAgent(b, s, jt.Token, dir, "full", fullPath),
		}
		waitFor(b, time.Minute, func() (bool, string) {
			nodes, err := s.Client().Nodes(ctx)
			if err != nil {
				return false, err.Error()
			}
			deployed := 0
			for _, n := range nodes {
				if n.State == api.NodeDeployed {
					deployed++
				}
			}
			return deployed == len(agents), fmt.Sprintf("%d of %d agents Deployed", deployed, len(agents))
		})
		time.Sleep(2 * time.Second) // settle after the join
		t0 := time.Now()
		for _, a := range agents {
			a.cpu0 = procCPU(b, a.cmd.Process.Pid)
		}
		for time.Since(t0) < idle {
			time.Sleep(min(time.Second, idle-time.Since(t0)))
			for _, a := range agents {
				a.peak = max(a.peak, procRSS(b, a.cmd.Process.Pid))
			}
		}
		wall := time.Since(t0)
		for _, a := range agents {
			pid := a.cmd.Process.Pid
			cpu := procCPU(b, pid) - a.cpu0
			rss := procRSS(b, pid)
			anon, file, err := testserver.ProcRSSSplit(pid)
			if err != nil {
				b.Fatal(err)
			}
			share := 100 * cpu.Seconds() / wall.Seconds()
			b.Logf("%-9s agent idle %s: RSS %.1f MB (RssAnon %.1f MB its own, RssFile %.1f MB pages of the binary and other files; peak %.1f MB), CPU %s = %.3f%% of one core",
				a.name, wall.Round(time.Second), mb(rss), mb(anon), mb(file), mb(a.peak), cpu, share)
			b.ReportMetric(mb(rss), a.name+"_rss_MB")
			b.ReportMetric(mb(anon), a.name+"_rss_anon_MB")
			b.ReportMetric(mb(file), a.name+"_rss_file_MB")
			b.ReportMetric(mb(a.peak), a.name+"_peak_rss_MB")
			b.ReportMetric(share, a.name+"_cpu_pct_of_core")
		}
	}
}

// downloadAgent fetches the agent binary the server's /install.sh would
// install (for this machine's architecture, which is the server's) into
// path. It fails when that is the whole wharf binary: the server found no
// agent-only build beside it, so there is nothing to compare.
func downloadAgent(b *testing.B, s *testserver.Server, path string) string {
	b.Helper()
	resp, err := s.HTTP().Get(s.URL + "/download/wharf-agent-linux-" + goruntime.GOARCH)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("download the agent: %v %s %.200s", err, resp.Status, body)
	}
	full, err := os.ReadFile(testserver.Binary(b))
	if err != nil {
		b.Fatal(err)
	}
	if bytes.Equal(body, full) {
		b.Fatalf("the server serves its own binary to /install.sh: no wharf-agent beside %s (make build builds both)", testserver.Binary(b))
	}
	install(b, path, body)
	b.Logf("installed agent: %s, %.1f MB (the full binary: %.1f MB)", filepath.Base(path), mb(int64(len(body))), mb(int64(len(full))))
	return path
}

// startIdleAgent starts bin's agent as node name, joined with token.
func startIdleAgent(b *testing.B, s *testserver.Server, token, dir, name, bin string) *idleAgent {
	b.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "--config", "/dev/null", "--server", s.URL, "--token", token,
		"--data-dir", filepath.Join(dir, name), "--driver", "fake", "--name", name, "--log-level", "warn", "--witness-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = logf.Close()
	})
	return &idleAgent{name: name, cmd: cmd}
}

// install puts an executable file at path the way install.sh does: its
// download written in curl's 16 KB chunks to a file beside it, then copied
// into place with cp. How much of a binary a process keeps resident
// depends on how the binary's pages sit in the page cache (a file written
// in one go sits in large folios, which are mapped whole), so both agents
// are installed alike.
func install(b *testing.B, path string, body []byte) {
	b.Helper()
	dl := path + ".download"
	f, err := os.OpenFile(dl, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(body); i += 16 << 10 {
		if _, err := f.Write(body[i:min(len(body), i+16<<10)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("cp", dl, path).CombinedOutput(); err != nil {
		b.Fatalf("cp %s: %v %s", path, err, out)
	}
}
