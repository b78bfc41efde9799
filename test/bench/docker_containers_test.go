package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testcluster"
)

// dockerCLI is the docker CLI the benchmark drives (API 1.50).
const dockerCLI = "/usr/local/bin/docker"

// benchLabel marks the containers the benchmark makes on the machine's
// engine, so that it removes them all and nothing else.
const benchLabel = "wharf-bench=docker-containers"

// BenchmarkDockerContainers measures the Docker endpoint's containers
// against the machine's single Docker Engine, both driven by the docker
// CLI: "ps" is `docker ps -a` with WHARF_BENCH_PS_CONTAINERS (default
// 1000) standalone containers over WHARF_BENCH_PS_NODES (default 100)
// hollow nodes, against `docker ps -a` on the engine holding
// WHARF_BENCH_ENGINE_CONTAINERS (default 200) created, not started,
// containers; "run" is `docker run -d` to Running, WHARF_BENCH_RUNS
// (default 10) times, through Wharf (one agent on the docker driver) and
// on the engine. Set WHARF_BENCH_DOCKER=1 to run it; it reports, it does
// not assert.
func BenchmarkDockerContainers(b *testing.B) {
	if os.Getenv("WHARF_BENCH_DOCKER") != "1" {
		b.Skip("set WHARF_BENCH_DOCKER=1 to run it (a few minutes; makes and removes containers on the machine's engine)")
	}
	if _, err := os.Stat(dockerCLI); err != nil {
		b.Skipf("%s: %v", dockerCLI, err)
	}
	dockertest.Require(b)
	image := dockertest.HelloImage(b)
	b.Run("ps", func(b *testing.B) {
		for range b.N {
			benchPS(b, image)
		}
	})
	b.Run("run", func(b *testing.B) {
		for range b.N {
			benchRun(b, image)
		}
	})
}

// cli runs the docker CLI with env and returns its trimmed output and how
// long it took.
func cli(b *testing.B, env []string, args ...string) (string, time.Duration) {
	b.Helper()
	cmd := exec.Command(dockerCLI, args...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), took
}

// medianOf is the median of ds, sorted in place.
func medianOf(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// engineEnv points the CLI at the machine's engine.
func engineEnv(b *testing.B) []string {
	return []string{"DOCKER_CONFIG=" + b.TempDir(), "DOCKER_HOST=", "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH="}
}

// removeBenchContainers removes every container of the engine with
// benchLabel.
func removeBenchContainers(b *testing.B, env []string) {
	out, _ := cli(b, env, "ps", "-aq", "--filter", "label="+benchLabel)
	if ids := strings.Fields(out); len(ids) > 0 {
		cli(b, env, append([]string{"rm", "-f"}, ids...)...)
	}
}

func benchPS(b *testing.B, image string) {
	nodes := envInt(b, "WHARF_BENCH_PS_NODES", 100)
	n := envInt(b, "WHARF_BENCH_PS_CONTAINERS", 1000)
	engineN := envInt(b, "WHARF_BENCH_ENGINE_CONTAINERS", 200)
	ctx := context.Background()
	c := testcluster.Start(b, testcluster.Options{Docker: true})
	env, _ := c.DockerEnv(b, "bench", "admin")
	env = append(env, "DOCKER_CONFIG="+b.TempDir())
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	joinHollow(hctx, b, &wg, c.URL, c.Client.JoinToken, nodes)
	waitDeployed(ctx, b, c.Client, nodes)
	// Standalone containers as docker run makes them, on the fake driver
	// of the hollow nodes, made through the API (docker run would ask for
	// the docker driver).
	start := time.Now()
	for i := range n {
		spec := api.ServiceSpec{Command: []string{"hollow"}, Driver: "fake", Replicas: 1, Standalone: true, Running: true}
		if _, err := c.Client.CreateService(ctx, fmt.Sprintf("c%04d", i), spec); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, 5*time.Minute, func() (bool, string) {
		out, _ := cli(b, env, "ps", "-q")
		k := len(strings.Fields(out))
		return k == n, fmt.Sprintf("%d of %d running", k, n)
	})
	b.Logf("%d standalone containers over %d hollow nodes running in %s", n, nodes, time.Since(start).Round(time.Millisecond))
	var wharf []time.Duration
	for range 10 {
		out, took := cli(b, env, "ps", "-a")
		if lines := strings.Count(out, "\n"); lines != n {
			b.Fatalf("docker ps -a listed %d containers, want %d", lines, n)
		}
		wharf = append(wharf, took)
	}

	eenv := engineEnv(b)
	b.Cleanup(func() { removeBenchContainers(b, eenv) })
	for i := 0; i < engineN; i += 50 {
		var ewg sync.WaitGroup
		for j := i; j < min(i+50, engineN); j++ {
			ewg.Go(func() {
				cmd := exec.Command(dockerCLI, "create", "--label", benchLabel, "--name", "wharf-bench-dc-"+strconv.Itoa(j), image)
				cmd.Env = append(os.Environ(), eenv...)
				_ = cmd.Run()
			})
		}
		ewg.Wait()
	}
	all, _ := cli(b, eenv, "ps", "-aq")
	var engine []time.Duration
	for range 10 {
		_, took := cli(b, eenv, "ps", "-a")
		engine = append(engine, took)
	}
	total := len(strings.Fields(all))
	w, e := medianOf(wharf), medianOf(engine)
	b.Logf("docker ps -a: Wharf %d containers over %d nodes: median %s (%.0f µs/container); engine %d containers: median %s (%.0f µs/container)",
		n, nodes, w.Round(time.Millisecond), float64(w.Microseconds())/float64(n), total, e.Round(time.Millisecond), float64(e.Microseconds())/float64(max(total, 1)))
	b.ReportMetric(float64(w.Milliseconds()), "wharf_ps_ms")
	b.ReportMetric(float64(e.Milliseconds()), "engine_ps_ms")
	b.ReportMetric(float64(total), "engine_containers")
}

func benchRun(b *testing.B, image string) {
	runs := envInt(b, "WHARF_BENCH_RUNS", 10)
	ctx := context.Background()
	c := testcluster.Start(b, testcluster.Options{Docker: true})
	d, err := docker.New(ctx, docker.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, _ := d.List(cctx)
		for _, st := range list {
			_ = d.Remove(cctx, st.ID)
		}
		d.Close()
	})
	c.AddAgent(filepath.Base(b.TempDir()), nil, d)
	waitDeployed(ctx, b, c.Client, 1)
	env, _ := c.DockerEnv(b, "bench", "admin")
	env = append(env, "DOCKER_CONFIG="+b.TempDir())
	var wharf []time.Duration
	for i := range runs {
		_, took := cli(b, env, "run", "-d", "--name", "r"+strconv.Itoa(i), image)
		wharf = append(wharf, took)
	}
	var rm time.Duration
	for i := range runs {
		_, took := cli(b, env, "rm", "-f", "r"+strconv.Itoa(i))
		rm += took
	}
	eenv := engineEnv(b)
	b.Cleanup(func() { removeBenchContainers(b, eenv) })
	var engine []time.Duration
	for i := range runs {
		_, took := cli(b, eenv, "run", "-d", "--label", benchLabel, "--name", "wharf-bench-dc-run-"+strconv.Itoa(i), image)
		engine = append(engine, took)
	}
	w, e := medianOf(wharf), medianOf(engine)
	b.Logf("docker run -d to Running (%d runs): Wharf median %s (max %s), engine median %s (max %s); docker rm -f through Wharf %s each",
		runs, w.Round(time.Millisecond), wharf[len(wharf)-1].Round(time.Millisecond), e.Round(time.Millisecond), engine[len(engine)-1].Round(time.Millisecond),
		(rm / time.Duration(runs)).Round(time.Millisecond))
	b.ReportMetric(float64(w.Milliseconds()), "wharf_run_ms")
	b.ReportMetric(float64(e.Milliseconds()), "engine_run_ms")
}
