package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/build/buildtest"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestStackDeployBuildsOnANode: `wharf stack deploy` where no Docker
// Engine answers (DOCKER_HOST names a dead socket) uploads the build
// contexts of examples/build to the server, which has a node build them.
// While the only node's agent runs without --allow-builds the deploy is
// refused, saying what to do, and nothing is deployed; once it runs with
// --allow-builds the same deploy builds on it, pushes to the built-in
// registry and the stack runs; a second deploy uploads nothing.
func TestStackDeployBuildsOnANode(t *testing.T) {
	dockertest.Require(t)
	app := buildtest.ExampleApp(t)
	s := testserver.Start(t, testserver.Options{})
	e := newEnv(t)
	e.extra = []string{"WHARF_ADDR=https://" + s.Addr, "WHARF_CACERT=" + filepath.Join(s.DataDir, "ca.crt"), "WHARF_TOKEN=" + s.Token(),
		"DOCKER_HOST=unix://" + filepath.Join(e.dir, "no-engine.sock")}
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	host := dockertest.StartEngine(t)
	agentArgs := []string{"agent", "--server", "https://" + s.Addr, "--token", join, "--name", "node-1",
		"--data-dir", filepath.Join(e.dir, "node-1"), "--docker-host", host,
		"--docker-certs-dir", filepath.Join(e.dir, "node-1-certs.d"), "--heartbeat", "1s"}
	waitNode := func(builds bool) {
		eventually(t, 60*time.Second, fmt.Sprintf("node-1 Deployed, allowing builds: %v", builds), func() error {
			out, err := e.try("node", "ls", "--format", "json")
			if err != nil {
				return err
			}
			var nodes []struct {
				State       string `json:"state"`
				AllowBuilds bool   `json:"allow_builds"`
			}
			if err := json.Unmarshal([]byte(out), &nodes); err != nil {
				return err
			}
			if len(nodes) != 1 || nodes[0].State != "Deployed" || nodes[0].AllowBuilds != builds {
				return fmt.Errorf("nodes: %s", out)
			}
			return nil
		})
	}

	first := e.start("node-1", agentArgs...)
	waitNode(false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wharfBin, "stack", "deploy", "-f", app, "--timeout", "1m", "demo")
	cmd.Env = e.environ()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--allow-builds") || !strings.Contains(string(out), "no node of organization default builds images") {
		t.Fatalf("deploy with no node that builds: %v\n%s", err, out)
	}
	if ls := e.wharf("stack", "ls"); strings.Contains(ls, "demo") {
		t.Fatalf("the refused deploy left a stack:\n%s", ls)
	}

	_ = first.Process.Kill()
	_, _ = first.Process.Wait()
	e.start("node-1-builds", append(agentArgs, "--allow-builds")...)
	waitNode(true)
	got := e.deploy(t, app)
	for _, want := range []string{"no Docker Engine here", "building on a node", "image web: pushed ", "image worker: pushed ", "Step 1/"} {
		if !strings.Contains(got, want) {
			t.Fatalf("deploy on a node: no %q in:\n%s", want, got)
		}
	}
	e.waitStackRunning(t)

	got = e.deploy(t, app)
	if !strings.Contains(got, "image web: unchanged ") || strings.Contains(got, "pushed") || strings.Contains(got, "building on a node") {
		t.Fatalf("second deploy built or uploaded:\n%s", got)
	}
}
