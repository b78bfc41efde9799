package testcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestNodeRefusesHostileBinds: a token that may create services asks a
// node, through the API, for bind mounts of its root, of the Docker socket
// under several spellings, of a traversal and of a symlink escape out of
// the one directory the node allows. The node refuses each before its
// driver sees it; the container's status says why and which agent flag
// would allow it, and the refusal is not retried (autorestart ALWAYS
// notwithstanding). A bind under the allowed directory runs.
func TestNodeRefusesHostileBinds(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	d := fake.New()
	allowed := t.TempDir()
	attacks, err := hostile.BindAttacks(allowed)
	if err != nil {
		t.Fatal(err)
	}
	joinedWith(t, c, "n1", func(cfg *agent.Config) { cfg.AllowBind = []string{allowed} }, d)

	names := map[string]hostile.BindAttack{}
	for i, a := range attacks {
		name := fmt.Sprintf("bind-%d", i)
		names[name] = a
		if _, err := hostile.RequestBind(ctx, c.Client, name, "fake", "", []string{"x"}, a.Source); err != nil {
			t.Fatalf("%s: create: %v", a.Name, err)
		}
	}
	if _, err := hostile.RequestBind(ctx, c.Client, "fine", "fake", "", []string{"x"}, allowed+"/app"); err != nil {
		t.Fatal(err)
	}
	refused := map[string]api.Container{}
	Eventually(t, 30*time.Second, func() error {
		for name, a := range names {
			cts, err := c.Client.Containers(ctx, name, "")
			if err != nil {
				return err
			}
			for _, ct := range cts {
				if _, ran := d.LastSpec(ct.ID); ran {
					t.Fatalf("%s (%s): the driver was asked to mount it", a.Name, a.Source)
				}
				if strings.Contains(ct.Status.Reason, "refused") {
					refused[name] = ct
				}
			}
		}
		if len(refused) < len(names) {
			return fmt.Errorf("%d of %d hostile binds refused so far", len(refused), len(names))
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
	for name, ct := range refused {
		a := names[name]
		r := ct.Status.Reason
		if ct.Status.State != api.ContainerStopped || !strings.Contains(r, "bind mount of "+a.Source) || !strings.Contains(r, "node n1") ||
			!(strings.Contains(r, "--allow-bind") || strings.Contains(r, "--allow-docker-socket")) {
			t.Errorf("%s: status %s, reason %q; want stopped, naming the path, the node and the agent flag", a.Name, ct.Status.State, r)
		}
		if _, ran := d.LastSpec(ct.ID); ran {
			t.Errorf("%s: the driver was asked to mount it", a.Name)
		}
	}
	// Not retried: every refusal has been up for as long as the allowed
	// service took to run, past the first restart's backoff for most.
	for name := range names {
		cts, _ := c.Client.Containers(ctx, name, "")
		for _, ct := range cts {
			if ct.Status.RestartCount != 0 {
				t.Errorf("%s: restarted %d times after a refusal", names[name].Name, ct.Status.RestartCount)
			}
		}
	}
}
