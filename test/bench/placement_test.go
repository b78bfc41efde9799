package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// WHARF_BENCH_PROFILE_DIR=<dir> the server (`--profile-dir`, see
// internal/profiling) writes there cpu-2.pprof, its CPU profile of the
// placement (from the first create to all Running), with heap-2.pprof
// after it, and with WHARF_BENCH_AGENTS_CPUPROFILE=<file> this process
// (the hollow agents) writes its CPU profile of the placement.
// WHARF_BENCH_SERVER_GOGC sets the server's GOGC.
func BenchmarkPlacement(b *testing.B) {
	n := envInt(b, "WHARF_BENCH_NODES", 1000)
	svcs, r := envInt(b, "WHARF_BENCH_SERVICES", 100), envInt(b, "WHARF_BENCH_REPLICAS", 100)
	for range b.N {
		profDir := os.Getenv("WHARF_BENCH_PROFILE_DIR")
		var opts testserver.Options
		if profDir != "" {
			opts.Args = []string{"--profile-dir", profDir}
		}
		if v := os.Getenv("WHARF_BENCH_SERVER_GOGC"); v != "" {
			opts.Env = append(opts.Env, "GOGC="+v)
		}
		s := testserver.Start(b, opts)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		joinHollow(ctx, b, &wg, s.URL, s.Client().JoinToken, n)
		waitDeployed(ctx, b, s.Client(), n)

		if profDir != "" { // step 1 ends the profile of the joins
			serverProfile(b, s, profDir, 1)
		}
		stopProfile := profileAgents(b)
		srv0, _ := testserver.ReadProcUsage(s.Pid())
		self0, _ := testserver.ReadProcUsage(os.Getpid())
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
		// Every 100 ms: the list is served from the page cache while
		// nothing changes, and a coarser poll would add up to its
		// interval to the figure.
		pollFor(b, 15*time.Minute, 100*time.Millisecond, func() (bool, string) {
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
		if profDir != "" { // step 2: the placement's profile
			serverProfile(b, s, profDir, 2)
		}
		stopProfile()
		srv1, _ := testserver.ReadProcUsage(s.Pid())
		self1, _ := testserver.ReadProcUsage(os.Getpid())
		srvUsed, selfUsed := srv1.Sub(srv0), self1.Sub(self0)
		heap := metric(b, s, "go_memstats_heap_inuse_bytes")
		rss := procRSS(b, s.Pid())
		b.Logf("%d services x %d replicas on %d nodes: created in %s, all Running after %s (%.0f placements/s); server heap in use %.1f MB, RSS %.1f MB",
			svcs, r, n, created.Round(time.Millisecond), took.Round(time.Millisecond), float64(total)/took.Seconds(), mb(heap), mb(rss))
		b.Logf("CPU during placement: server %s, this process (the hollow agents) %s; %s",
			srvUsed, selfUsed, timeline(ctx, b, s, start))
		b.ReportMetric((srvUsed.User + srvUsed.System).Seconds(), "server_cpu_s")
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

// timeline sums up the events written since start: for each
// event (kind, type and state), how many, in how many transactions, and
// when (after start) the first, the median and the last were written. It shows which stage of a placement
// (placed, Starting, Running) the time goes to.
func timeline(ctx context.Context, b *testing.B, s *testserver.Server, start time.Time) string {
	evs, err := s.Client().Events(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	at := map[string][]time.Duration{}
	txns := map[string]map[int64]bool{} // the revisions (transactions) they came in
	var order []string
	for _, e := range evs {
		if e.Time.Before(start) {
			continue
		}
		k := e.Kind + " " + e.Type
		if e.State != "" {
			k += " " + e.State
		}
		if at[k] == nil {
			order = append(order, k)
			txns[k] = map[int64]bool{}
		}
		txns[k][e.ID] = true
		at[k] = append(at[k], e.Time.Sub(start))
	}
	var out []string
	for _, k := range order {
		ds := at[k]
		slices.Sort(ds)
		r := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
		out = append(out, fmt.Sprintf("%s x%d in %d txns at %s/%s/%s", k, len(ds), len(txns[k]), r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1])))
	}
	return "events (first/median/last after the creates began): " + strings.Join(out, ", ")
}

// profileAgents starts a CPU profile of this process when
// WHARF_BENCH_AGENTS_CPUPROFILE names a file; the function it returns
// stops it.
func profileAgents(b *testing.B) func() {
	path := os.Getenv("WHARF_BENCH_AGENTS_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
