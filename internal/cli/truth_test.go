package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/exec"
	"github.com/wharfhq/wharf/internal/runtime/fake"
	"github.com/wharfhq/wharf/internal/testcluster"
)

// liveCluster is an in-process server with one agent (exec and fake
// drivers), and the CLI's connection flags for it.
type liveCluster struct {
	*testcluster.Cluster
	conn []string
}

func startLive(t *testing.T) *liveCluster {
	t.Helper()
	return startLiveNodes(t, []string{"n1"}, nil)
}

// startLiveNodes is startLive with an agent per name (with the fake
// driver alone after the first), each with its labels.
func startLiveNodes(t *testing.T, names []string, labels map[string]map[string]string) *liveCluster {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	c := testcluster.Start(t, testcluster.Options{})
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, c.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	drv, err := exec.New(filepath.Join(t.TempDir(), "exec"))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		if i == 0 {
			c.AddAgent(name, labels[name], drv, fake.New())
		} else {
			c.AddAgent(name, labels[name], fake.New())
		}
	}
	testcluster.Eventually(t, 30*time.Second, func() error {
		nodes, err := c.Client.Nodes(context.Background())
		if err != nil {
			return err
		}
		deployed := 0
		for _, n := range nodes {
			if n.State == api.NodeDeployed {
				deployed++
			}
		}
		if deployed != len(names) {
			return fmt.Errorf("nodes %+v", nodes)
		}
		return nil
	})
	return &liveCluster{Cluster: c, conn: []string{"--addr", c.URL, "--token", c.Token, "--cacert", ca}}
}

// run runs the CLI against the cluster.
func (l *liveCluster) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runCLI(t, append(slices.Clone(l.conn), args...)...)
}

// until runs the CLI until its stdout is want, lines in any order (lists
// are in ID order).
func (l *liveCluster) until(t *testing.T, want string, args ...string) {
	t.Helper()
	testcluster.Eventually(t, 30*time.Second, func() error {
		out, errOut, err := l.run(t, args...)
		if err != nil || sortLines(out) != sortLines(want) {
			return fmt.Errorf("wharf %s: %q (stderr %q, %v), want %q", strings.Join(args, " "), out, errOut, err, want)
		}
		return nil
	})
}

// TestFailuresAreVisible (issue 13, item 1): a service whose command does
// not exist is Failing in service ls and stack ls, and every list of its
// containers shows the error; a clean service is Running, with no error.
func TestFailuresAreVisible(t *testing.T) {
	l := startLive(t)
	ctx := context.Background()
	if _, err := l.Client.CreateService(ctx, "bad", api.ServiceSpec{Driver: "exec", Replicas: 2,
		Command: []string{"/nonexistent/wharf-test-cmd"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Client.CreateService(ctx, "good", api.ServiceSpec{Driver: "fake", Replicas: 1, Command: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	l.until(t, "bad Failing 0/2\ngood Running 1/1\n", "service", "ls", "--format", "{{.Name}} {{.State}} {{.status.running_containers}}/{{.Spec.Replicas}}")

	s, err := l.Client.Service(ctx, "bad")
	if err != nil || s.Status.FailingContainers != 2 || !strings.HasPrefix(s.Status.LastError, "start failed: exec driver: start ") ||
		!strings.Contains(s.Status.LastError, `cannot run command "/nonexistent/wharf-test-cmd"`) {
		t.Errorf("status %+v, %v; want 2 failing, the start error", s.Status, err)
	}
	out, _, err := l.run(t, "service", "ps", "bad", "--format", "{{.Name}} {{.State}} {{.Error}}")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(lines)
	if len(lines) != 2 {
		t.Fatalf("service ps bad:\n%s", out)
	}
	for i, ln := range lines {
		if want := fmt.Sprintf("bad-%d Stopped start failed: exec driver: start ", i+1); !strings.HasPrefix(ln, want) ||
			!strings.Contains(ln, `cannot run command "/nonexistent/wharf-test-cmd": fork/exec /nonexistent/wharf-test-cmd: no such file or directory; check`) {
			t.Errorf("service ps bad: %q, want the whole start error", ln)
		}
	}

	// The tables: an ERROR column, the error shortened.
	const short = `start failed: cannot run command "/nonexistent/wharf-test-cmd": fork/exec /none…`
	for _, args := range [][]string{{"service", "ps", "bad"}, {"container", "ls"}, {"container", "ls", "--service", "bad"}} {
		out, _, err = l.run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		header := strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " ")
		if header != "ID NAME STATE DESIRED NODE ADDRESS PORT EXIT STARTED ERROR" || strings.Count(out, short) != 2 {
			t.Errorf("wharf %s: want the ERROR column with %q on each of bad's rows:\n%s", strings.Join(args, " "), short, out)
		}
	}
	out, _, err = l.run(t, "service", "ps", "good", "--format", "{{.Name}} {{.State}} [{{.Error}}]")
	if err != nil || out != "good-1 Running []\n" {
		t.Errorf("service ps good: %q, %v", out, err)
	}
}

// TestStackFailuresAreVisible (issue 13, item 1): a stack with a failing
// service is Failing in stack ls, and stack ps shows the error.
func TestStackFailuresAreVisible(t *testing.T) {
	l := startLive(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	yml := "name: shop\nservices:\n  web:\n    command: [x]\n    x-wharf:\n      driver: fake\n" +
		"  worker:\n    command: [/nonexistent/wharf-test-cmd]\n    x-wharf:\n      driver: exec\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := l.run(t, "stack", "deploy", "-f", file, "--detach"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, errOut)
	}
	l.until(t, "shop 1/2 Failing\n", "stack", "ls", "--format", "{{.Name}} {{.status.running}}/{{.status.services}} {{.State}}")
	out, _, err := l.run(t, "stack", "ps", "shop", "--format", "{{.Name}} {{.State}} {{.Error}}")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 3 || lines[0] != "shop-web-1 Running " ||
		!strings.HasPrefix(lines[1], "shop-worker-1 Stopped start failed: ") || !strings.Contains(lines[1], "/nonexistent/wharf-test-cmd") {
		t.Errorf("stack ps:\n%s", out)
	}
	out, _, err = l.run(t, "stack", "ps", "shop")
	if err != nil || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "ERROR") || !strings.Contains(out, "start failed: ") {
		t.Errorf("stack ps table: %v\n%s", err, out)
	}
}

func sortLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestWait (issue 13, item 2): service create, scale, update, redeploy and
// stack deploy wait by default, print each slot's progress on stderr and
// exit 0 once converged; a command that does not exist, an update that
// rolls back and a timeout exit non-zero with the reason; --detach
// returns at once.
func TestWait(t *testing.T) {
	l := startLive(t)
	ctx := context.Background()

	out, errOut, err := l.run(t, "service", "create", "--name", "ok", "--driver", "fake", "--replicas", "2", "--", "x")
	if err != nil || len(strings.TrimSpace(out)) != 16 {
		t.Fatalf("create ok: %q, %v\n%s", out, err, errOut)
	}
	if !strings.HasSuffix(errOut, "ok: converged: 2 of 2 containers running\n") || !strings.Contains(errOut, "ok-1: running\n") ||
		!strings.Contains(errOut, "ok-2: running\n") {
		t.Errorf("create ok: stderr\n%s", errOut)
	}
	phase := regexp.MustCompile(`^(ok-\d: (waiting to be placed|scheduled on n1|starting|running)|ok: converged: 2 of 2 containers running)$`)
	for _, ln := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !phase.MatchString(ln) {
			t.Errorf("create ok: unexpected progress line %q", ln)
		}
	}

	// A command that does not exist: the wait fails with the error.
	_, errOut, err = l.run(t, "service", "create", "--name", "bad", "--driver", "exec", "--", "/nonexistent/wharf-test-cmd")
	want := regexp.MustCompile(`^service bad: 1 of 1 containers failing: start failed: exec driver: start [0-9a-f]{16}: cannot run command "/nonexistent/wharf-test-cmd": .*no such file or directory`)
	if err == nil || !want.MatchString(err.Error()) {
		t.Errorf("create bad: %v, want %s", err, want)
	}
	if !strings.Contains(errOut, `bad-1: failed: start failed: cannot run command "/nonexistent/wharf-test-cmd"`) {
		t.Errorf("create bad: stderr\n%s", errOut)
	}
	if code := Main(ctx, append(slices.Clone(l.conn), "service", "scale", "bad", "1")); code != 1 {
		t.Errorf("scale of a failing service exited %d, want 1", code)
	}

	// Scale, redeploy: converged.
	out, errOut, err = l.run(t, "service", "scale", "ok", "3")
	if err != nil || out != "ok scaled to 3\n" || !strings.HasSuffix(errOut, "ok: converged: 3 of 3 containers running\n") {
		t.Errorf("scale: %q, %v\n%s", out, err, errOut)
	}
	out, errOut, err = l.run(t, "service", "redeploy", "ok")
	if err != nil || out != "ok\n" || !strings.HasSuffix(errOut, "ok: converged: 3 of 3 containers running\n") {
		t.Errorf("redeploy: %q, %v\n%s", out, err, errOut)
	}

	// An update whose containers cannot start rolls back: exit 1, why.
	out, errOut, err = l.run(t, "service", "update", "ok", "--env", fake.EnvStartError+"=no such image: nginx:nope")
	if out != "ok generation 2\n" || err == nil || !strings.HasPrefix(err.Error(),
		"service ok: the update failed and rolled back to generation 1") || !strings.Contains(err.Error(), "no such image: nginx:nope") {
		t.Errorf("update: %q, %v\n%s", out, err, errOut)
	}
	if s, err := l.Client.Service(ctx, "ok"); err != nil || s.RestartGeneration != 1 {
		t.Errorf("after the failed update: generation %d, %v", s.RestartGeneration, err)
	}

	// Nowhere to run: the timeout says what it waits for.
	_, _, err = l.run(t, "service", "create", "--name", "nowhere", "--driver", "fake", "--constraint", "zone==mars", "--timeout", "3s", "--", "x")
	if err == nil || !strings.HasPrefix(err.Error(), "service nowhere: not converged within 3s: Not running, 0 of 1 containers running; waiting for: ") ||
		!strings.Contains(err.Error(), "zone==mars") {
		t.Errorf("create nowhere: %v", err)
	}

	// --detach: at once, nothing on stderr.
	out, errOut, err = l.run(t, "service", "create", "--name", "later", "--driver", "exec", "--detach", "--", "/nonexistent/wharf-test-cmd")
	if err != nil || len(strings.TrimSpace(out)) != 16 || errOut != "" {
		t.Errorf("create --detach: %q %q %v", out, errOut, err)
	}

	// A stack: every service converges.
	file := filepath.Join(t.TempDir(), "compose.yml")
	if err := os.WriteFile(file, []byte("name: shop\nservices:\n  web:\n    command: [x]\n    x-wharf:\n      driver: fake\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = l.run(t, "stack", "deploy", "-f", file)
	if err != nil || !strings.HasSuffix(errOut, "shop-web: converged: 1 of 1 containers running\n") || !strings.Contains(out, "stack shop (created)") {
		t.Errorf("stack deploy: %q, %v\n%s", out, err, errOut)
	}
}

// TestDrainSaysWhatItWaitsFor (issue 13, item 3): node rm of a node whose
// containers cannot move leaves it Terminating, and node ls and node
// inspect say what the drain waits for; once another node fits, the
// containers move and the node goes.
func TestDrainSaysWhatItWaitsFor(t *testing.T) {
	l := startLiveNodes(t, []string{"n1", "n2"}, map[string]map[string]string{"n1": {"zone": "a"}, "n2": {"zone": "b"}})
	ctx := context.Background()
	if _, errOut, err := l.run(t, "service", "create", "--name", "web", "--driver", "fake", "--replicas", "2", "--constraint", "zone==a", "--", "x"); err != nil {
		t.Fatalf("create: %v\n%s", err, errOut)
	}
	n1, err := l.Client.Node(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := l.run(t, "node", "rm", "n1")
	if err != nil || !strings.HasPrefix(out, "n1 draining") {
		t.Fatalf("node rm: %q, %v", out, err)
	}
	const why = "web-1, web-2: cannot move: no other node fits: 0 of 2 nodes: 1 not Deployed, 1 fails zone==a"
	testcluster.Eventually(t, 30*time.Second, func() error {
		out, _, err := l.run(t, "node", "ls")
		if err != nil {
			return err
		}
		if tail := "\n\nn1 draining, waiting for:\n  " + why + "\n"; !strings.HasSuffix(out, tail) || !strings.Contains(out, " Terminating ") {
			return fmt.Errorf("node ls:\n%s\nwant it to end with %q", out, tail)
		}
		return nil
	})
	out, _, err = l.run(t, "node", "inspect", "n1")
	if err != nil || !strings.Contains(out, `"drain_waiting": "`+why+`"`) {
		t.Errorf("node inspect: %v\n%s", err, out)
	}
	if out, _, err := l.run(t, "node", "ls", "--format", "{{.Name}} {{.State}}{{with .DrainWaiting}} {{.}}{{end}}"); err != nil ||
		sortLines(out) != sortLines("n1 Terminating "+why+"\nn2 Deployed\n") {
		t.Errorf("node ls --format: %q, %v", out, err)
	}

	// n2 fits now: the slots move, n1 goes.
	if _, _, err := l.run(t, "node", "label", "n2", "zone=a"); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 30*time.Second, func() error {
		if _, err := l.Client.Node(ctx, n1.ID); err == nil {
			return fmt.Errorf("n1 is still there")
		}
		return nil
	})
}

// TestNodeDrainKeepsTheNode: node drain moves a node's containers off but
// keeps the node, node ls says its availability and what the drain waits
// for, and node activate makes it take containers again.
func TestNodeDrainKeepsTheNode(t *testing.T) {
	l := startLiveNodes(t, []string{"n1", "n2"}, map[string]map[string]string{"n1": {"zone": "a"}, "n2": {"zone": "b"}})
	ctx := context.Background()
	if _, errOut, err := l.run(t, "service", "create", "--name", "web", "--driver", "fake", "--replicas", "2", "--constraint", "zone==a", "--", "x"); err != nil {
		t.Fatalf("create: %v\n%s", err, errOut)
	}
	out, _, err := l.run(t, "node", "drain", "n1")
	if err != nil || !strings.HasPrefix(out, "n1 draining: ") {
		t.Fatalf("node drain: %q, %v", out, err)
	}
	const why = "web-1, web-2: cannot move: no other node fits: 0 of 2 nodes: 1 draining, 1 fails zone==a"
	testcluster.Eventually(t, 30*time.Second, func() error {
		out, _, err := l.run(t, "node", "ls", "--format", "{{.Name}} {{.State}} {{.Availability}}{{with .DrainWaiting}} {{.}}{{end}}")
		if err != nil {
			return err
		}
		if want := "n1 Deployed drain " + why + "\nn2 Deployed active\n"; sortLines(out) != sortLines(want) {
			return fmt.Errorf("node ls:\n%s\nwant\n%s", out, want)
		}
		return nil
	})
	if out, _, err := l.run(t, "node", "ls"); err != nil || !strings.Contains(out, " Deployed   drain ") {
		t.Errorf("node ls: %v\n%s", err, out)
	}
	if out, _, err := l.run(t, "node", "ls", "-q", "--filter", "availability=drain"); err != nil || strings.TrimSpace(out) == "" || strings.Contains(out, "\n\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("node ls --filter availability=drain: %q, %v", out, err)
	}
	if out, _, err := l.run(t, "node", "ls", "-q", "--filter", "availability=active"); err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("node ls --filter availability=active: %q, %v", out, err)
	}

	// n2 fits now: the slots move; n1 stays, drained.
	if _, _, err := l.run(t, "node", "label", "n2", "zone=a"); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 30*time.Second, func() error {
		cs, err := l.Client.Containers(ctx, "", "n1")
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			return fmt.Errorf("%d containers still on n1, %s first", len(cs), cs[0].Name)
		}
		return nil
	})
	n1, err := l.Client.Node(ctx, "n1")
	if err != nil || n1.Availability != api.AvailabilityDrain {
		t.Fatalf("drained n1: %+v, %v", n1, err)
	}
	if out, _, err := l.run(t, "node", "activate", "n1"); err != nil || out != "n1 active\n" {
		t.Errorf("node activate: %q, %v", out, err)
	}
	if n1, err := l.Client.Node(ctx, "n1"); err != nil || n1.Available() != api.AvailabilityActive || n1.DrainWaiting != "" {
		t.Errorf("activated n1: %+v, %v", n1, err)
	}
	if _, _, err := l.run(t, "node", "drain", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("drain of an unknown node: %v", err)
	}
}
