package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestDockerNodeRefusesSocketAndRoot: on a node with the real docker
// driver, a service asking for the Docker socket or the host's root is
// refused before the engine is asked (the engine has no container for
// it), while a bind under the allowed directory runs.
func TestDockerNodeRefusesSocketAndRoot(t *testing.T) {
	dockertest.Require(t)
	image := dockertest.HelloImage(t)
	d := newDockerDriver(t, docker.Options{})
	c := Start(t, Options{})
	ctx := context.Background()
	allowed := t.TempDir()
	if err := os.Mkdir(filepath.Join(allowed, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	joinedWith(t, c, "n1", func(cfg *agent.Config) { cfg.AllowBind = []string{allowed} }, d)

	hostileSrc := map[string]string{"sock": "/var/run/docker.sock", "root": "/"}
	for name, src := range hostileSrc {
		if _, err := hostile.RequestBind(ctx, c.Client, name, "docker", image, []string{"hello"}, src); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := hostile.RequestBind(ctx, c.Client, "fine", "docker", image, []string{"hello"}, filepath.Join(allowed, "app")); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 60*time.Second, func() error {
		for name := range hostileSrc {
			cts, err := c.Client.Containers(ctx, name, "")
			if err != nil {
				return err
			}
			if len(cts) != 1 || !strings.Contains(cts[0].Status.Reason, "refused") {
				return fmt.Errorf("%s: %+v, want one refused container", name, cts)
			}
		}
		cts, err := c.Client.Containers(ctx, "fine", "")
		if err != nil {
			return err
		}
		if len(cts) != 1 || cts[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("the allowed bind does not run: %+v", cts)
		}
		return nil
	})
	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name := range hostileSrc {
		cts, _ := c.Client.Containers(ctx, name, "")
		for _, st := range list {
			if len(cts) == 1 && st.ID == cts[0].ID {
				t.Errorf("%s: the engine has a container for it: %+v", name, st)
			}
		}
	}
}
