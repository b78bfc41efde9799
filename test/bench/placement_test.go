package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
	"github.com/wharfhq/wharf/internal/testserver"
)

// BenchmarkPlacement joins 1,000 hollow nodes (fake driver agents in this
// process) to a `wharf server` child process, creates 100 services of 100
// replicas at once and reports the time until all 10,000 containers run,
// placements per second and the server's heap in use (from its /metrics).
// The figures are reported, not asserted. WHARF_BENCH_NODES,
// WHARF_BENCH_SERVICES and WHARF_BENCH_REPLICAS change the sizes; with
// WHARF_CPUPROFILE=<file> the server writes a CPU profile of the placement
// (from the first create to all Running) to that file.
func BenchmarkPlacement(b *testing.B) {
	n := envInt(b, "WHARF_BENCH_NODES", 1000)
	svcs, r := envInt(b, "WHARF_BENCH_SERVICES", 100), envInt(b, "WHARF_BENCH_REPLICAS", 100)
	for range b.N {
		s := testserver.Start(b, testserver.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		joinHollow(ctx, b, &wg, s.URL, s.Client().JoinToken, n)
		waitDeployed(ctx, b, s.Client(), n)

		profile := os.Getenv("WHARF_CPUPROFILE") != ""
		if profile { // the server profiles placement only (cmd/wharf/cpuprofile.go)
			signalServer(b, s, syscall.SIGUSR1)
		}
		cpu0, _ := s.CPU()
		start := time.Now()
		var cw sync.WaitGroup
		for i := range svcs {
			cw.Go(func() {
				spec := api.ServiceSpec{Command: []string{"hollow"}, Driver: "fake", Replicas: r}
				if _, err := s.Client().CreateService(ctx, fmt.Sprintf("p%03d", i), spec); err != nil {
					b.Error(err)
				}
			})
		}
		cw.Wait()
		created := time.Since(start)
		total := svcs * r
		waitFor(b, 15*time.Minute, func() (bool, string) {
			list, err := s.Client().Services(ctx)
			if err != nil {
				return false, err.Error()
			}
			running := 0
			for _, sv := range list {
				running += sv.Status.RunningContainers
			}
			return running == total, fmt.Sprintf("%d of %d Running", running, total)
		})
		took := time.Since(start)
		if profile {
			signalServer(b, s, syscall.SIGUSR2)
		}
		cpu1, _ := s.CPU()
		heap := metric(b, s, "go_memstats_heap_inuse_bytes")
		rss := procRSS(b, s.Pid())
		b.Logf("%d services x %d replicas on %d nodes: created in %s, all Running after %s (%.0f placements/s); server heap in use %.1f MB, RSS %.1f MB",
			svcs, r, n, created.Round(time.Millisecond), took.Round(time.Millisecond), float64(total)/took.Seconds(), mb(heap), mb(rss))
		b.Logf("server CPU during placement: %.2f s; %s", (cpu1 - cpu0).Seconds(), timeline(ctx, b, s, start))
		b.ReportMetric(took.Seconds(), "s_to_all_running")
		b.ReportMetric(float64(total)/took.Seconds(), "placements/s")
		b.ReportMetric(mb(heap), "server_heap_MB")
		b.ReportMetric(mb(rss), "server_rss_MB")
		cancel()
		wg.Wait()
	}
}

// joinHollow starts n hollow agents in this process; they run until ctx ends.
func joinHollow(ctx context.Context, b *testing.B, wg *sync.WaitGroup, url string, token func(context.Context, bool) (api.JoinTokenCreated, error), n int) {
	jt, err := token(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	for i := range n {
		a, err := agent.New(agent.Config{
			ServerURL: url, JoinToken: jt.Token, DataDir: filepath.Join(dir, strconv.Itoa(i)),
			Drivers: []runtime.Driver{fake.New()}, Hostname: fmt.Sprintf("hollow-%04d", i), Logger: quiet,
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = a.Run(ctx) })
	}
}

// signalServer sends sig to the server process.
func signalServer(b *testing.B, s *testserver.Server, sig syscall.Signal) {
	if err := syscall.Kill(s.Pid(), sig); err != nil {
		b.Fatal(err)
	}
}

// timeline sums up the container events written since start: for each
// event (type and state), how many and when (after start) the first, the
// median and the last were written. It shows which stage of a placement
// (placed, Starting, Running) the time goes to.
func timeline(ctx context.Context, b *testing.B, s *testserver.Server, start time.Time) string {
	evs, err := s.Client().Events(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	at := map[string][]time.Duration{}
	var order []string
	for _, e := range evs {
		if e.Kind != "container" || e.Time.Before(start) {
			continue
		}
		k := e.Type
		if e.State != "" {
			k += " " + e.State
		}
		if at[k] == nil {
			order = append(order, k)
		}
		at[k] = append(at[k], e.Time.Sub(start))
	}
	var out []string
	for _, k := range order {
		ds := at[k]
		slices.Sort(ds)
		r := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
		out = append(out, fmt.Sprintf("%s x%d at %s/%s/%s", k, len(ds), r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1])))
	}
	return "container events (first/median/last after the creates began): " + strings.Join(out, ", ")
}
