package testcluster

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// streamsImage is a busybox image imported from Debian's busybox-static
// (nothing can be pulled): a shell, ps and sleep for exec -it and top.
const streamsImage = "wharf-docker-streams/busybox:test"

var (
	streamsImageOnce sync.Once
	streamsImageErr  error
)

func busyboxImage(t *testing.T) string {
	t.Helper()
	dockertest.Require(t)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("no /bin/busybox (apt-get install busybox-static): ", err)
	}
	streamsImageOnce.Do(func() {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
		_ = tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
		_ = tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))})
		_, _ = tw.Write(bb)
		for _, app := range []string{"sh", "ps", "sleep", "echo", "cat", "ls"} {
			_ = tw.WriteHeader(&tar.Header{Name: "bin/" + app, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
		}
		_ = tw.Close()
		cmd := exec.Command("docker", "import", "-c", "ENV PATH=/bin", "-", streamsImage)
		cmd.Stdin = &buf
		if out, err := cmd.CombinedOutput(); err != nil {
			streamsImageErr = fmt.Errorf("docker import: %v\n%s", err, out)
		}
	})
	if streamsImageErr != nil {
		t.Fatal(streamsImageErr)
	}
	return streamsImage
}

// streamsCluster is a cluster with the Docker endpoint and one node on the
// docker driver running a busybox shell that prints a line a second, and
// the container's name.
func streamsCluster(t *testing.T) (*Cluster, string) {
	t.Helper()
	image := busyboxImage(t)
	d := newDockerDriver(t, docker.Options{})
	c := Start(t, Options{Docker: true})
	joinedWith(t, c, "streams-n1", nil, d)
	ctx := context.Background()
	if _, err := c.Client.CreateService(ctx, "ticker", api.ServiceSpec{Image: image, Driver: "docker", PullPolicy: api.PullNever, Replicas: 1,
		Command: []string{"/bin/sh", "-c", "echo started; echo to-stderr >&2; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"}}); err != nil {
		t.Fatal(err)
	}
	var name string
	waitService(t, c, "ticker", func(_ api.Service, cts []api.Container) error {
		if len(cts) != 1 || cts[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("want one running container, got %+v", cts)
		}
		name = cts[0].Name
		return nil
	})
	return c, name
}

func installedCLIs(t *testing.T) []string {
	var out []string
	for _, bin := range dockerCLIs {
		if _, err := os.Stat(bin); err == nil {
			out = append(out, bin)
		}
	}
	if len(out) == 0 {
		t.Skip("no docker CLI")
	}
	return out
}

// TestDockerStreams: both docker CLIs read logs (and follow them), exec
// with output and exit code, list processes with top, print a stats row,
// and attach, through the Docker endpoint to the node's engine.
func TestDockerStreams(t *testing.T) {
	c, name := streamsCluster(t)
	env, _ := c.DockerEnv(t, "streams", api.RoleAdmin)
	for _, bin := range installedCLIs(t) {
		t.Run(strings.ReplaceAll(bin, "/", "_"), func(t *testing.T) {
			// The container may have just started: wait for its first ticks.
			Eventually(t, 30*time.Second, func() error {
				out, err := runDocker(t, bin, env, "logs", name)
				if err != nil || !strings.Contains(out, "started\n") || !strings.Contains(out, "to-stderr") || !strings.Contains(out, "tick 2\n") {
					return fmt.Errorf("logs: %v\n%s", err, out)
				}
				return nil
			})
			out, err := runDocker(t, bin, env, "logs", "--tail", "1", name)
			if err != nil || strings.Count(out, "\n") != 1 {
				t.Errorf("logs --tail 1: %v\n%q", err, out)
			}
			for flag, want := range map[string]string{"--timestamps": "drop --timestamps", "--since=10m": "use --tail"} {
				if out, err := runDocker(t, bin, env, "logs", flag, name); err == nil || !strings.Contains(out, want) {
					t.Errorf("logs %s: want refused (%q), got %v\n%s", flag, want, err, out)
				}
			}
			followUntil(t, bin, env, []string{"logs", "-f", "--tail", "1", name}, 3)
			followUntil(t, bin, env, []string{"attach", "--no-stdin", name}, 2)

			out, err = runDocker(t, bin, env, "exec", name, "sh", "-c", "echo out-line; echo err-line >&2; exit 3")
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || !strings.Contains(out, "out-line\n") || !strings.Contains(out, "err-line\n") {
				t.Errorf("exec: want exit 3 and both lines, got %v\n%s", err, out)
			}
			out, err = runDocker(t, bin, env, "exec", name, "echo", "fine")
			if err != nil || out != "fine\n" {
				t.Errorf("exec echo: %v %q", err, out)
			}
			// Standard input to its end: the half-close crosses to the engine.
			cmd := exec.Command(bin, "exec", "-i", name, "cat")
			cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
			cmd.Stdin = strings.NewReader("piped-in\n")
			if b, err := cmd.CombinedOutput(); err != nil || string(b) != "piped-in\n" {
				t.Errorf("exec -i cat: %v %q", err, b)
			}
			marker := "/tmp/detached-" + strconv.Itoa(len(bin))
			if out, err := runDocker(t, bin, env, "exec", "-d", name, "sh", "-c", "echo detached > "+marker); err != nil {
				t.Errorf("exec -d: %v\n%s", err, out)
			}
			Eventually(t, 30*time.Second, func() error {
				out, err := runDocker(t, bin, env, "exec", name, "cat", marker)
				if err != nil || out != "detached\n" {
					return fmt.Errorf("the detached exec's file: %v %q", err, out)
				}
				return nil
			})
			out, err = runDocker(t, bin, env, "top", name)
			if err != nil || !strings.Contains(out, "PID") || !strings.Contains(out, "sleep") {
				t.Errorf("top: %v\n%s", err, out)
			}
			out, err = runDocker(t, bin, env, "stats", "--no-stream", name)
			if err != nil || !strings.Contains(out, "CPU %") || !strings.Contains(out, "MiB") {
				t.Errorf("stats --no-stream: %v\n%s", err, out)
			}
			execInteractive(t, bin, env, name)

			// docker run, attached: create, attach, start, wait; the
			// container exits at once, maybe before the attach reaches it.
			run := "streams-run-" + strconv.Itoa(len(bin))
			out, err = runDockerWithin(t, 60*time.Second, bin, env, "run", "--name", run, streamsImage, "sh", "-c", "echo run-out; echo run-err >&2; exit 4")
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 || !strings.Contains(out, "run-out\n") || !strings.Contains(out, "run-err\n") {
				t.Errorf("docker run: want both lines and exit code 4, got %v\n%s", err, out)
			}
		})
	}

	// A read-only certificate reads logs, processes and stats, but may
	// neither exec nor attach.
	ro, _ := c.DockerEnv(t, "streams-ro", api.RoleReadOnly)
	for _, bin := range installedCLIs(t) {
		for _, args := range [][]string{{"logs", "--tail", "1", name}, {"top", name}, {"stats", "--no-stream", name}} {
			if out, err := runDocker(t, bin, ro, args...); err != nil {
				t.Errorf("read-only %s %v: %v\n%s", bin, args, err, out)
			}
		}
		out, err := runDocker(t, bin, ro, "exec", name, "echo", "no")
		if err == nil || !strings.Contains(out, "read-only") {
			t.Errorf("read-only %s exec: want refused, got %v\n%s", bin, err, out)
		}
		out, err = runDocker(t, bin, ro, "attach", "--no-stdin", name)
		if err == nil || !strings.Contains(out, "403") {
			t.Errorf("read-only %s attach: want refused, got %v\n%s", bin, err, out)
		}
	}

	// Every exec and attach is in the audit trail, with the container.
	acts, err := c.Client.Actions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cts, _ := c.Client.Containers(context.Background(), "ticker", "")
	seen := map[string]int{}
	for _, a := range acts {
		if a.Kind != "container" || strings.HasPrefix(a.Path, "/containers/") && !strings.Contains(a.Path, "/"+name+"/") {
			continue // not about the ticker (docker run's own container)
		}
		key := a.Method + " " + a.Path[strings.LastIndex(a.Path, "/")+1:] + " " + strconv.Itoa(a.Status)
		seen[key]++
		if len(cts) == 1 && a.Object != cts[0].ID && (a.Status != 403 || a.Object != name) {
			t.Errorf("action %s %s (%d) names %q, want the container %s", a.Method, a.Path, a.Status, a.Object, cts[0].ID)
		}
	}
	for _, want := range []string{"POST exec 201", "POST start 101", "POST attach 101", "POST exec 403", "POST attach 403"} {
		if seen[want] == 0 {
			t.Errorf("no action %q in the audit trail: %v", want, seen)
		}
	}
}

// followUntil runs a docker command that follows a container's output
// until it has printed n tick lines, then stops it.
func followUntil(t *testing.T, bin string, env, args []string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	got := 0
	for got < n && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "tick ") {
			got++
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got < n {
		t.Errorf("%s %v: %d tick lines before it ended, want %d; stderr: %s", bin, args, got, n, stderr.String())
	}
}

// execInteractive runs docker exec -it through a pty: types a command,
// reads its output, exits with a code.
func execInteractive(t *testing.T, bin string, env []string, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "exec", "-it", name, "sh")
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "TERM=dumb"), env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var seen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			seen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	wait := func(s string) bool {
		for ctx.Err() == nil {
			mu.Lock()
			ok := strings.Contains(seen.String(), s)
			mu.Unlock()
			if ok {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	if !wait("#") && !wait("$") {
		t.Fatalf("exec -it: no prompt; saw %q", seen.String())
	}
	_, _ = io.WriteString(f, "echo $((6*7))-answer; stty size\r")
	if !wait("42-answer") || !wait("30 100") {
		t.Errorf("exec -it: no answer or wrong terminal size; saw %q", seen.String())
	}
	_, _ = io.WriteString(f, "exit 5\r")
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Errorf("exec -it: want exit code 5, got %v; saw %q", err, seen.String())
	}
}

// TestDockerStreamsOtherDriver: a container of a driver that cannot exec
// interactively, attach or tell its processes gets a clear refusal naming
// the driver, and no hang; its logs work.
func TestDockerStreamsOtherDriver(t *testing.T) {
	bins := installedCLIs(t)
	c := Start(t, Options{Docker: true})
	c.AddAgent("streams-fake", nil, fake.New())
	ctx := context.Background()
	if _, err := c.Client.CreateService(ctx, "plain", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	var name string
	waitService(t, c, "plain", func(_ api.Service, cts []api.Container) error {
		if len(cts) != 1 || cts[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("want one running container, got %+v", cts)
		}
		name = cts[0].Name
		return nil
	})
	env, _ := c.DockerEnv(t, "streams-fake", api.RoleAdmin)
	for _, bin := range bins {
		for _, args := range [][]string{{"exec", name, "ls"}, {"top", name}, {"stats", "--no-stream", name}} {
			out, err := runDocker(t, bin, env, args...)
			if err == nil || !strings.Contains(out, "fake driver cannot") {
				t.Errorf("%s %v: want a refusal naming the fake driver, got %v\n%s", bin, args, err, out)
			}
		}
		if out, err := runDocker(t, bin, env, "attach", "--no-stdin", name); err == nil {
			t.Errorf("%s attach: want refused, got\n%s", bin, out)
		}
		if out, err := runDocker(t, bin, env, "logs", name); err != nil {
			t.Errorf("%s logs: %v\n%s", bin, err, out)
		}
	}
}

// runDockerWithin is runDocker, killing the CLI after d.
func runDockerWithin(t *testing.T, d time.Duration, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s %v did not end within %s: %w", bin, args, d, ctx.Err())
	}
	return string(out), err
}

// TestDockerExecLatency logs (asserts nothing of) how long `docker exec
// CONTAINER echo` takes through Wharf's Docker endpoint (server, gateway,
// agent session, engine) against the same CLI straight at the node's
// engine: the median of 9 runs each.
func TestDockerExecLatency(t *testing.T) {
	if os.Getenv("WHARF_MEASURE") == "" {
		t.Skip("a measurement: set WHARF_MEASURE=1")
	}
	c, name := streamsCluster(t)
	env, _ := c.DockerEnv(t, "streams-measure", api.RoleAdmin)
	cts, err := c.Client.Containers(context.Background(), "ticker", "")
	if err != nil || len(cts) != 1 {
		t.Fatal(err, cts)
	}
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=wharf.id="+cts[0].ID).Output()
	engineID := strings.TrimSpace(string(out))
	if err != nil || engineID == "" {
		t.Fatalf("the engine's container: %v %q", err, out)
	}
	median := func(run func() error) time.Duration {
		var ds []time.Duration
		for range 9 {
			start := time.Now()
			if err := run(); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		for i := range ds {
			for j := i + 1; j < len(ds); j++ {
				if ds[j] < ds[i] {
					ds[i], ds[j] = ds[j], ds[i]
				}
			}
		}
		return ds[len(ds)/2]
	}
	bin := "/usr/local/bin/docker"
	wharf := median(func() error { _, err := runDocker(t, bin, env, "exec", name, "echo"); return err })
	direct := median(func() error { _, err := runDocker(t, bin, nil, "exec", engineID, "echo"); return err })
	t.Logf("docker exec CONTAINER echo, median of 9: through Wharf %v, straight at the engine %v (ratio %.2f)", wharf, direct, float64(wharf)/float64(direct))
}
