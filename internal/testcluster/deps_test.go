package testcluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// TestDependsOnAcrossNodes: "app" (on the role=app node) depends on "db"
// (on the role=db node) being healthy. Its containers are created only
// once db's agent reports db healthy; before that app shows why it waits.
// After a restart of both, app's rollout waits for the new db likewise.
func TestDependsOnAcrossNodes(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	ctx := context.Background()
	for _, role := range []string{"db", "app"} {
		a := c.AddAgent("n-"+role, map[string]string{"role": role}, fake.New())
		Eventually(t, 30*time.Second, func() error {
			if a.NodeID() == "" {
				return errors.New("not joined")
			}
			return nil
		})
	}
	waitDeployed(t, c, 2)

	// The fake driver's exec answers the check at once; the first check
	// runs after one interval, so db runs for a while before it is healthy.
	db := api.ServiceSpec{Command: []string{"db"}, Driver: "fake", Replicas: 1, Constraints: []string{"role==db"},
		Healthcheck: &api.Healthcheck{Command: []string{"check"}, Interval: "3s", Retries: 1}}
	app := api.ServiceSpec{Command: []string{"app"}, Driver: "fake", Replicas: 2, Constraints: []string{"role==app"},
		DependsOn: []api.Dependency{{Service: "db", Condition: api.ConditionHealthy}}}
	if _, err := c.Client.CreateService(ctx, "app", app); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CreateService(ctx, "db", db); err != nil {
		t.Fatal(err)
	}

	// Catch db running but not healthy yet: app, read before db, has no
	// container and says what it waits for.
	Eventually(t, 30*time.Second, func() error {
		as, err := c.Client.Service(ctx, "app")
		if err != nil {
			return err
		}
		acts, err := c.Client.Containers(ctx, "app", "")
		if err != nil {
			return err
		}
		dcts, err := c.Client.Containers(ctx, "db", "")
		if err != nil {
			return err
		}
		if len(dcts) != 1 || dcts[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("db not running yet: %+v", dcts)
		}
		if dcts[0].Status.Health == api.HealthHealthy {
			t.Fatal("db turned healthy before the test saw it running; lengthen its health interval")
		}
		if len(acts) != 0 {
			t.Fatalf("app has %d containers while db is %s", len(acts), dcts[0].Status.Health)
		}
		if !strings.HasPrefix(as.Status.Pending, "waiting for service db to be healthy") || as.Status.State == api.ServiceRunning {
			t.Fatalf("app status %s, pending %q", as.Status.State, as.Status.Pending)
		}
		return nil
	})

	// db turns healthy: app runs, on its own node.
	waitService(t, c, "app", func(s api.Service, cts []api.Container) error {
		if s.Status.State != api.ServiceRunning || s.Status.RunningContainers != 2 || s.Status.Pending != "" {
			return fmt.Errorf("app %s, %d running, pending %q", s.Status.State, s.Status.RunningContainers, s.Status.Pending)
		}
		return nil
	})
	dcts, err := c.Client.Containers(ctx, "db", "")
	if err != nil {
		t.Fatal(err)
	}
	acts, err := c.Client.Containers(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(dcts) != 1 || !dcts[0].Ready() {
		t.Fatalf("app runs but db is %+v", dcts)
	}
	for _, a := range acts {
		if a.Spec.Node == dcts[0].Spec.Node {
			t.Fatalf("app container %s on db's node %s", a.Name, a.Spec.Node)
		}
	}

	// Restart both: app's containers are replaced only once the new db
	// container is healthy; until then app keeps its old ones running.
	if _, err := c.Client.RestartService(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.RestartService(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		acts, err := c.Client.Containers(ctx, "app", "")
		if err != nil {
			return err
		}
		dcts, err := c.Client.Containers(ctx, "db", "")
		if err != nil {
			return err
		}
		if len(dcts) != 1 || dcts[0].Spec.Generation != 1 || dcts[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("new db not running yet: %+v", dcts)
		}
		if dcts[0].Status.Health == api.HealthHealthy {
			t.Fatal("the new db turned healthy before the test saw it running; lengthen its health interval")
		}
		if len(acts) != 2 {
			t.Fatalf("app has %d containers while the new db is not healthy: one was stopped before its replacement could start", len(acts))
		}
		for _, a := range acts {
			if a.Spec.Generation != 0 || a.Spec.Desired != api.ContainerRunning {
				t.Fatalf("app container %s (generation %d, desired %s) replaced before the new db is healthy", a.Name, a.Spec.Generation, a.Spec.Desired)
			}
		}
		return nil
	})
	waitService(t, c, "app", func(s api.Service, cts []api.Container) error {
		if s.Status.State != api.ServiceRunning || s.Status.RunningContainers != 2 || !s.Status.Synchronized {
			return fmt.Errorf("app %s, %d running, synchronized %v, pending %q", s.Status.State, s.Status.RunningContainers, s.Status.Synchronized, s.Status.Pending)
		}
		return nil
	})
}
