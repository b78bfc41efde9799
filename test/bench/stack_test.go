package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/compose"
	"github.com/wharfhq/wharf/internal/testserver"
)

// BenchmarkStack deploys a 50-service stack (4 replicas each, in five
// tiers, each tier depending on the one before with service_started) from
// a compose file onto 100 hollow nodes and reports: the time to load and
// convert the file, the dry-run plan of the first deploy, the deploy until
// every container runs, a dry run and a deploy of the unchanged file, and
// the dry run of a one-service change. Side by side, the same 50 services
// created one by one with POST /v1/services (no dependencies) until all
// run. WHARF_BENCH_NODES, WHARF_BENCH_SERVICES and WHARF_BENCH_REPLICAS
// change the sizes.
func BenchmarkStack(b *testing.B) {
	n := envInt(b, "WHARF_BENCH_NODES", 100)
	svcs, r := envInt(b, "WHARF_BENCH_SERVICES", 50), envInt(b, "WHARF_BENCH_REPLICAS", 4)
	for range b.N {
		s := testserver.Start(b, testserver.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		joinHollow(ctx, b, &wg, s.URL, s.Client().JoinToken, n)
		waitDeployed(ctx, b, s.Client(), n)

		file := filepath.Join(b.TempDir(), "compose.yml")
		writeStackFile(b, file, svcs, r, "1")
		start := time.Now()
		spec := loadStack(ctx, b, file)
		loaded := time.Since(start)

		timed := func(dry bool) (time.Duration, api.DeployStackResult) {
			t0 := time.Now()
			res, err := s.Client().DeployStack(ctx, "bench", spec, dry)
			if err != nil {
				b.Fatal(err)
			}
			return time.Since(t0), res
		}
		dryFirst, _ := timed(true)
		start = time.Now()
		deployCall, _ := timed(false)
		total := svcs * r
		waitAllRunning(ctx, b, s.Client(), total)
		deployed := time.Since(start)
		drySame, res := timed(true)
		for _, e := range res.Plan {
			if e.Action != api.PlanUnchanged {
				b.Fatalf("unchanged file: %s %s", e.Action, e.Service)
			}
		}
		redeploySame, _ := timed(false)
		writeStackFile(b, file, svcs, r, "2")
		spec = loadStack(ctx, b, file)
		dryChange, res := timed(true)
		changed := 0
		for _, e := range res.Plan {
			if e.Action == api.PlanUpdate {
				changed++
			}
		}

		if err := s.Client().RemoveStack(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		waitAllRunning(ctx, b, s.Client(), 0)
		start = time.Now()
		var cw sync.WaitGroup
		for i := range svcs {
			cw.Go(func() {
				sp := api.ServiceSpec{Command: []string{"hollow"}, Driver: "fake", Replicas: r}
				if _, err := s.Client().CreateService(ctx, fmt.Sprintf("one-%02d", i), sp); err != nil {
					b.Error(err)
				}
			})
		}
		cw.Wait()
		waitAllRunning(ctx, b, s.Client(), total)
		oneByOne := time.Since(start)

		b.Logf("%d services x %d replicas on %d hollow nodes: load+convert %s; dry run (all create) %s; deploy call %s, all %d Running after %s; unchanged: dry run %s, deploy %s; one env change: dry run %s (%d update); reference, %d POST /v1/services: all Running after %s",
			svcs, r, n, ms(loaded), ms(dryFirst), ms(deployCall), total, ms(deployed), ms(drySame), ms(redeploySame), ms(dryChange), changed, svcs, ms(oneByOne))
		b.ReportMetric(deployed.Seconds(), "s_deploy_all_running")
		b.ReportMetric(float64(dryFirst.Microseconds())/1000, "ms_dry_run")
		b.ReportMetric(float64(dryChange.Microseconds())/1000, "ms_dry_run_change")
		b.ReportMetric(oneByOne.Seconds(), "s_reference_all_running")
		cancel()
		wg.Wait()
	}
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

// writeStackFile writes a compose file of svcs services in five tiers.
func writeStackFile(b *testing.B, path string, svcs, replicas int, version string) {
	var sb strings.Builder
	sb.WriteString("services:\n")
	tier := max(svcs/5, 1)
	for i := range svcs {
		fmt.Fprintf(&sb, "  s%02d:\n    command: [hollow]\n    x-wharf: {driver: fake}\n    deploy: {replicas: %d}\n", i, replicas)
		env := "1"
		if i == svcs-1 {
			env = version // only the last service changes between versions
		}
		fmt.Fprintf(&sb, "    environment: {VERSION: %q}\n", env)
		if i >= tier {
			fmt.Fprintf(&sb, "    depends_on: {s%02d: {condition: service_started}}\n", i-tier)
		}
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
}

func loadStack(ctx context.Context, b *testing.B, file string) api.StackSpec {
	st, err := compose.Load(ctx, compose.Options{Files: []string{file}, ProjectName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return st.StackSpec()
}

// waitAllRunning waits until exactly total containers are Running and no
// service is left over beyond what they belong to.
func waitAllRunning(ctx context.Context, b *testing.B, cl *client.Client, total int) {
	waitFor(b, 10*time.Minute, func() (bool, string) {
		list, err := cl.Services(ctx)
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, sv := range list {
			running += sv.Status.RunningContainers
		}
		if total == 0 {
			return len(list) == 0, fmt.Sprintf("%d services left", len(list))
		}
		return running == total, fmt.Sprintf("%d of %d Running", running, total)
	})
}
