package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestStackDeployExecExample is the README's tour of stacks: `wharf up`,
// deploy examples/exec/compose.yml, every service runs and answers over
// HTTP on its host port, a second deploy changes nothing, and `stack rm`
// removes every service and container.
func TestStackDeployExecExample(t *testing.T) {
	deployExample(t, "exec", "demo", nil)
}

// TestStackDeployDockerExample is the same for examples/docker, whose
// services are containers of a local image (wharf/hello:test, built FROM
// scratch by the test) run by the docker driver of `wharf up`'s agents.
func TestStackDeployDockerExample(t *testing.T) {
	image := dockertest.HelloImage(t)
	t.Cleanup(func() {
		// Named volumes outlive their containers on purpose.
		_ = exec.Command("docker", "volume", "rm", "demo-docker-store-1-data").Run()
	})
	deployExample(t, "docker", "demo-docker", []string{"WHARF_IMAGE=" + image})
}

// deployExample brings up `wharf up`, deploys examples/<dir>/compose.yml
// as stack name (with env added to the CLI's environment), waits until
// web (2), store and worker run, reaches each container over HTTP, deploys
// again (all unchanged) and removes the stack.
func deployExample(t *testing.T, dir, name string, env []string) {
	e := newEnv(t)
	e.extra = append(append(e.extra, "WHARF_BIN="+wharfBin), env...)
	data := filepath.Join(e.dir, "up")
	up := e.start("up", "up", "--nodes", "3", "--data-dir", data,
		"--port", fmt.Sprint(freePort(t)), "--agent-port", fmt.Sprint(freePort(t)),
		"--router-port", fmt.Sprint(freePort(t)), "--router-tls-port", fmt.Sprint(freePort(t)))
	waitUp(t, data)
	t.Cleanup(func() { stopUp(t, up) })

	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "..", "examples", dir, "compose.yml")
	out := e.wharf("stack", "deploy", "--detach", "-f", example, name)
	for _, want := range []string{"create store", "create web", "create worker", "stack " + name + " (created): 3 to create"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy printed %q, want a line %q", out, want)
		}
	}

	want := map[string]int{name + "-web": 2, name + "-store": 1, name + "-worker": 1}
	var cts []listed
	took := eventually(t, 90*time.Second, "every service of the stack running", func() error {
		cts = e.list("stack", "ps", name)
		running := map[string]int{}
		for _, c := range cts {
			if c.State == "Running" && c.Status.HostPort != 0 {
				running[serviceOf(c.Name)]++
			}
		}
		for svc, n := range want {
			if running[svc] != n {
				return fmt.Errorf("%s: %d of %d running (%v)", svc, running[svc], n, running)
			}
		}
		return nil
	})
	t.Logf("the stack ran %s after deploy", took.Round(time.Millisecond))
	for _, c := range cts {
		body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", c.Status.HostPort))
		if !strings.Contains(body, "Hello from "+c.Name) {
			t.Errorf("%s answered %q", c.Name, body)
		}
	}
	var stacks []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	}
	e.listInto(&stacks, "stack", "ls")
	if len(stacks) != 1 || stacks[0].Name != name {
		t.Errorf("stack ls: %+v", stacks)
	}

	// The same files again: nothing to do.
	out = e.wharf("stack", "deploy", "--detach", "-f", example, name)
	for _, want := range []string{"unchanged store", "unchanged web", "unchanged worker", "0 to create, 0 to update, 0 to remove, 3 unchanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("second deploy printed %q, want %q", out, want)
		}
	}

	e.wharf("stack", "rm", name)
	eventually(t, 60*time.Second, "the stack, its services and containers gone", func() error {
		if s := e.list("service", "ls"); len(s) != 0 {
			return fmt.Errorf("%d services left", len(s))
		}
		if c := e.list("container", "ls"); len(c) != 0 {
			return fmt.Errorf("%d containers left", len(c))
		}
		var left []any
		e.listInto(&left, "stack", "ls")
		if len(left) != 0 {
			return fmt.Errorf("%d stacks left", len(left))
		}
		return nil
	})
	for _, c := range cts {
		if _, err := quickGet(fmt.Sprintf("http://127.0.0.1:%d/", c.Status.HostPort)); err == nil {
			t.Errorf("%s still answers after stack rm", c.Name)
		}
	}
}

// serviceOf is the service of a container name ("demo-web-2" → "demo-web").
func serviceOf(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		return name[:i]
	}
	return name
}

// listInto decodes a list command's --format json output into v.
func (e *env) listInto(v any, args ...string) {
	e.t.Helper()
	if err := json.Unmarshal([]byte(e.wharf(append(args, "--format", "json")...)), v); err != nil {
		e.t.Fatalf("wharf %v --format json: %v", args, err)
	}
}

// quickGet is one GET with a short timeout.
func quickGet(url string) (*http.Response, error) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err == nil {
		_ = resp.Body.Close()
	}
	return resp, err
}

// stopUp stops a foreground `wharf up` with Ctrl-C, waiting at most a
// minute.
func stopUp(t *testing.T, up *exec.Cmd) {
	if up.ProcessState != nil {
		return
	}
	_ = up.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = up.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Errorf("wharf up did not stop within 60s of Ctrl-C")
	}
}
