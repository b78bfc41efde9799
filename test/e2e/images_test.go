package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/build/buildtest"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestExampleAppBuildsOncePullsEverywhere deploys examples/build (three
// services, two of them `build:`) with one `wharf stack deploy` onto three
// nodes, each an agent process with a Docker Engine of its own (its own
// image store, as separate hosts have). The CLI builds the two images with
// this machine's engine and pushes them to the server's built-in registry;
// every node that runs one of their containers pulls it, by digest, with
// its node credential; everything runs. A second deploy of the same files
// builds nothing, pushes nothing, pulls nothing and replaces no container.
func TestExampleAppBuildsOncePullsEverywhere(t *testing.T) {
	dockertest.Require(t)
	app := buildtest.ExampleApp(t)
	s := testserver.Start(t, testserver.Options{})
	e := newEnv(t)
	e.extra = []string{"WHARF_ADDR=https://" + s.Addr, "WHARF_CACERT=" + filepath.Join(s.DataDir, "ca.crt"), "WHARF_TOKEN=" + s.Token()}

	const nodes = 3
	engines := make([]*client.Client, nodes)
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	for i := range nodes {
		host := dockertest.StartEngine(t)
		c, err := client.New(client.WithHost(host))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		engines[i] = c
		name := fmt.Sprintf("node-%d", i+1)
		e.start(name, "agent", "--server", "https://"+s.Addr, "--token", join, "--name", name,
			"--data-dir", filepath.Join(e.dir, name), "--docker-host", host,
			"--docker-certs-dir", filepath.Join(e.dir, name+"-certs.d"), "--heartbeat", "1s")
	}
	eventually(t, 60*time.Second, "all nodes Deployed", func() error {
		deployed := 0
		for _, n := range e.list("node", "ls") {
			if n.State == "Deployed" {
				deployed++
			}
		}
		if deployed != nodes {
			return fmt.Errorf("%d of %d nodes Deployed", deployed, nodes)
		}
		return nil
	})

	first := time.Now()
	out := e.deploy(t, app)
	for _, svc := range []string{"web", "worker"} {
		if !strings.Contains(out, "image "+svc+": build ") || !strings.Contains(out, "image "+svc+": pushed ") {
			t.Fatalf("first deploy: %s was not built and pushed:\n%s", svc, out)
		}
	}
	running := e.waitStackRunning(t)
	// Every node that runs a container of a built service pulled its
	// image: the engine holds it by the digest the service runs.
	for _, c := range running {
		eng := engines[nodeIndex(t, c.node)]
		img, err := eng.ImageInspect(t.Context(), c.image)
		if err != nil {
			t.Fatalf("%s runs %s on %s, whose engine does not have it: %v", c.name, c.image, c.node, err)
		}
		_, digest, _ := strings.Cut(c.image, "@")
		if !slices.ContainsFunc(img.RepoDigests, func(d string) bool { return strings.HasSuffix(d, "@"+digest) }) {
			t.Fatalf("%s on %s: the engine's image has digests %v, not the pinned %s", c.name, c.node, img.RepoDigests, digest)
		}
	}
	pulls := enginePulls(t, engines, first)
	if pulls == 0 {
		t.Fatal("no engine pulled anything on the first deploy")
	}
	t.Logf("first deploy: %d pulls on %d engines; containers %v", pulls, nodes, running)

	second := time.Now()
	out = e.deploy(t, app)
	for _, svc := range []string{"web", "worker"} {
		if !strings.Contains(out, "image "+svc+": unchanged ") {
			t.Fatalf("second deploy: %s is not unchanged:\n%s", svc, out)
		}
	}
	if strings.Contains(out, "pushed") || strings.Contains(out, ": build ") {
		t.Fatalf("second deploy built or pushed:\n%s", out)
	}
	again := e.waitStackRunning(t)
	if !slices.EqualFunc(running, again, func(a, b runningContainer) bool { return a == b }) {
		t.Fatalf("second deploy replaced containers:\nbefore %v\nafter  %v", running, again)
	}
	if n := enginePulls(t, engines, second); n != 0 {
		t.Fatalf("second deploy: %d pulls, want none", n)
	}
}

// deploy runs `wharf stack deploy` of file as stack demo (it waits until
// the stack runs) with this machine's engine for the builds, and returns
// what it printed on both streams.
func (e *env) deploy(t *testing.T, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wharfBin, "stack", "deploy", "-f", file, "--timeout", "3m", "demo")
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wharf stack deploy: %v\n%s", err, out)
	}
	return string(out)
}

// runningContainer is one container of the stack as `service ps` shows it.
type runningContainer struct{ name, node, image, id string }

// waitStackRunning waits until every slot of the stack's three services
// runs and returns them, sorted by name.
func (e *env) waitStackRunning(t *testing.T) []runningContainer {
	t.Helper()
	want := map[string]int{"demo-web": 2, "demo-greeter": 1, "demo-worker": 1}
	var got []runningContainer
	eventually(t, 2*time.Minute, "the stack's containers run", func() error {
		got = got[:0]
		for svc, n := range want {
			var list []struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				State string `json:"state"`
				Node  string `json:"node_name"`
				Spec  struct {
					Image string `json:"image"`
				} `json:"spec"`
			}
			out, err := e.try("service", "ps", svc, "--format", "json")
			if err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				return fmt.Errorf("service ps %s: %w", svc, err)
			}
			running := 0
			for _, c := range list {
				if c.State == "Running" {
					running++
					got = append(got, runningContainer{name: c.Name, node: c.Node, image: c.Spec.Image, id: c.ID})
				}
			}
			if running != n {
				return fmt.Errorf("%s: %d of %d Running", svc, running, n)
			}
		}
		return nil
	})
	slices.SortFunc(got, func(a, b runningContainer) int { return strings.Compare(a.name, b.name) })
	return got
}

// nodeIndex is the index of node-N.
func nodeIndex(t *testing.T, node string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(node, "node-"))
	if err != nil || n < 1 {
		t.Fatalf("node %q is not node-N", node)
	}
	return n - 1
}

// enginePulls counts the image pulls the engines report since then.
func enginePulls(t *testing.T, engines []*client.Client, since time.Time) int {
	t.Helper()
	n := 0
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	for _, eng := range engines {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		res := eng.Events(ctx, client.EventsListOptions{
			Since: strconv.FormatInt(since.Unix(), 10), Until: until,
			Filters: client.Filters{}.Add("type", "image").Add("event", "pull"),
		})
	loop:
		for {
			select {
			case _, ok := <-res.Messages:
				if !ok {
					break loop
				}
				n++
			case err := <-res.Err:
				if err != nil && err != io.EOF {
					t.Fatalf("engine events: %v", err)
				}
				break loop
			}
		}
		cancel()
	}
	return n
}
