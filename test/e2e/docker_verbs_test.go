package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestDockerVerbsAgainstAServerProcess: with each docker CLI, against a
// wharf server process and two agent processes on the docker driver, a
// container is run where its constraint says, listed with its node,
// inspected, read, exec'd into, stopped, started and removed; an unknown
// container and a constraint no node meets get the CLI's error.
func TestDockerVerbsAgainstAServerProcess(t *testing.T) {
	bins := installedDockerCLIs(t)
	image := dockertest.HelloImage(t)
	c := startDockerCluster(t, 2)
	for i, bin := range bins {
		name := fmt.Sprintf("e2e-web-%d", i)
		id := strings.TrimSpace(c.docker(t, bin, "run", "-d", "--name", name, "-e", "constraint:node==docker-core-n2", "-e", "GREETING=hi", image))
		if len(id) < 12 {
			t.Fatalf("%s run -d printed %q, want the container's ID", bin, id)
		}
		if got := strings.TrimSpace(c.docker(t, bin, "inspect", "--format", "{{.Node.Name}} {{.State.Running}}", name)); got != "docker-core-n2 true" {
			t.Errorf("%s inspect: node and running %q, want \"docker-core-n2 true\"", bin, got)
		}
		ps := c.docker(t, bin, "ps", "--filter", "node=docker-core-n2", "--format", "{{.ID}} {{.Names}} {{.Status}}")
		if !strings.Contains(ps, id[:12]+" docker-core-n2/"+name+" Up") {
			t.Errorf("%s ps --filter node=docker-core-n2:\n%s", bin, ps)
		}
		eventually(t, 20*time.Second, name+"'s log", func() error {
			if out, _ := runDockerCLI(t, bin, c.Docker, "logs", name); !strings.Contains(out, "hello: serving") {
				return fmt.Errorf("logs: %q", out)
			}
			return nil
		})
		if out := c.docker(t, bin, "exec", name, "/wharf", "version"); !strings.Contains(out, "wharf") {
			t.Errorf("%s exec: %q", bin, out)
		}
		c.docker(t, bin, "stop", name)
		if got := strings.TrimSpace(c.docker(t, bin, "inspect", "--format", "{{.State.Running}}", name)); got != "false" {
			t.Errorf("%s stop: running %q", bin, got)
		}
		c.docker(t, bin, "start", name)
		c.docker(t, bin, "rm", "-f", name)
		if out, err := runDockerCLI(t, bin, c.Docker, "inspect", name); err == nil || !strings.Contains(strings.ToLower(out), "no such") {
			t.Errorf("%s inspect of a removed container: %v %q", bin, err, out)
		}
		out, err := runDockerCLI(t, bin, c.Docker, "run", "-d", "--name", name+"-nowhere", "-e", "constraint:zone==mars", image)
		if err == nil || !strings.Contains(out, "unable to find a node") {
			t.Errorf("%s run with a constraint no node meets: %v %q", bin, err, out)
		}
	}
}
