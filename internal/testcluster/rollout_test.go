package testcluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// rolloutCluster: two fake nodes and a service of 6 with a fast health check.
func rolloutCluster(t *testing.T, upd api.UpdateConfig) *Cluster {
	t.Helper()
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	joined(t, c, "n1", fake.New())
	joined(t, c, "n2", fake.New())
	waitDeployed(t, c, 2)
	spec := api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 6, Update: upd,
		Healthcheck: &api.Healthcheck{Command: []string{"check"}, Interval: "50ms", Retries: 1}}
	if _, err := c.Client.CreateService(context.Background(), "web", spec); err != nil {
		t.Fatal(err)
	}
	waitService(t, c, "web", func(s api.Service, _ []api.Container) error {
		if s.Status.State != api.ServiceRunning || s.Status.RunningContainers != 6 || !s.Status.Synchronized {
			return fmt.Errorf("state %s, %d ready, synchronized %v", s.Status.State, s.Status.RunningContainers, s.Status.Synchronized)
		}
		return nil
	})
	return c
}

// sampleReady counts, until stop is called, the fewest containers that were
// desired Running and ready at once.
func sampleReady(c *Cluster) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	least := 1 << 30
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			cts, err := c.Client.Containers(ctx, "web", "")
			if err == nil {
				n := 0
				for _, ct := range cts {
					if ct.Spec.Desired == api.ContainerRunning && ct.Ready() {
						n++
					}
				}
				least = min(least, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return func() int { cancel(); wg.Wait(); return least }
}

// waitRolledOut waits until every slot runs generation gen, ready.
func waitRolledOut(t *testing.T, c *Cluster, gen int, state string) {
	t.Helper()
	waitService(t, c, "web", func(s api.Service, cts []api.Container) error {
		if s.Status.State != api.ServiceRunning || s.Status.RunningContainers != 6 || !s.Status.Synchronized || s.Status.UpdateState != state {
			return fmt.Errorf("state %s, %d ready, synchronized %v, update %q %s", s.Status.State, s.Status.RunningContainers, s.Status.Synchronized, s.Status.UpdateState, s.Status.UpdateMessage)
		}
		slots := map[string]bool{}
		for _, ct := range cts {
			if ct.Spec.Generation != gen || !ct.Ready() {
				return fmt.Errorf("%s: generation %d, %s %s", ct.Name, ct.Spec.Generation, ct.Status.State, ct.Status.Health)
			}
			slots[ct.Name] = true
		}
		for i := 1; i <= 6; i++ {
			if !slots[fmt.Sprintf("web-%d", i)] {
				return fmt.Errorf("no web-%d", i)
			}
		}
		return nil
	})
}

func update(t *testing.T, c *Cluster, patch map[string]any) api.Service {
	t.Helper()
	s, err := c.Client.UpdateService(context.Background(), "web", patch, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRollingUpdateStopFirst(t *testing.T) {
	c := rolloutCluster(t, api.UpdateConfig{Parallelism: 2})
	stop := sampleReady(c)
	start := time.Now()
	s := update(t, c, map[string]any{"env": map[string]string{"V": "2"}})
	if s.RestartGeneration != 1 || s.PreviousSpec == nil {
		t.Fatalf("after update: generation %d, previous spec %v", s.RestartGeneration, s.PreviousSpec)
	}
	waitRolledOut(t, c, 1, api.UpdateStateDone)
	least := stop()
	t.Logf("6 replaced 2 at a time (stop-first) in %v; fewest ready %d", time.Since(start).Round(time.Millisecond), least)
	if least < 4 {
		t.Errorf("%d ready at the low point, want at least 4", least)
	}
	cts, _ := c.Client.Containers(context.Background(), "web", "")
	for _, ct := range cts {
		if ct.Spec.Env["V"] != "2" {
			t.Errorf("%s env %v", ct.Name, ct.Spec.Env)
		}
	}
}

func TestRollingUpdateStartFirst(t *testing.T) {
	c := rolloutCluster(t, api.UpdateConfig{Parallelism: 2, Order: api.OrderStartFirst})
	stop := sampleReady(c)
	start := time.Now()
	if _, err := c.Client.RedeployService(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, c, 1, api.UpdateStateDone)
	least := stop()
	t.Logf("6 redeployed 2 at a time (start-first) in %v; fewest ready %d", time.Since(start).Round(time.Millisecond), least)
	if least < 6 {
		t.Errorf("%d ready at the low point, want 6", least)
	}
}

func TestRollingUpdateRollsBack(t *testing.T) {
	c := rolloutCluster(t, api.UpdateConfig{Parallelism: 2})
	update(t, c, map[string]any{"env": map[string]string{fake.EnvStartError: "bad version"}})
	waitRolledOut(t, c, 0, api.UpdateStateRolledBk)
	s, err := c.Client.Service(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if _, bad := s.Spec.Env[fake.EnvStartError]; bad || s.PreviousSpec == nil || s.PreviousGeneration != 1 {
		t.Fatalf("after rollback: env %v, previous generation %d", s.Spec.Env, s.PreviousGeneration)
	}
	evs, err := c.Client.Events(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range evs {
		if e.Type == "update" {
			msgs = append(msgs, e.Message)
		}
	}
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "rolling back") }) {
		t.Errorf("no rollback event among %q", msgs)
	}
}

func TestHealthGateHoldsRollout(t *testing.T) {
	c := rolloutCluster(t, api.UpdateConfig{FailureAction: api.FailurePause})
	update(t, c, map[string]any{"healthcheck": api.Healthcheck{Command: []string{"exit", "1"}, Interval: "50ms", Retries: 2}})
	waitService(t, c, "web", func(s api.Service, cts []api.Container) error {
		if s.Status.UpdateState != api.UpdateStatePaused {
			return fmt.Errorf("update %q", s.Status.UpdateState)
		}
		return nil
	})
	// Held: one replacement, unhealthy; the 5 others still old and ready.
	time.Sleep(300 * time.Millisecond)
	s, _ := c.Client.Service(context.Background(), "web")
	cts, _ := c.Client.Containers(context.Background(), "web", "")
	newer, ready := 0, 0
	for _, ct := range cts {
		if ct.Spec.Generation == 1 {
			newer++
			if ct.Status.Health != api.HealthUnhealthy {
				t.Errorf("%s health %q, want unhealthy", ct.Name, ct.Status.Health)
			}
		} else if ct.Ready() {
			ready++
		}
	}
	if newer != 1 || ready != 5 || s.Status.RunningContainers != 5 || s.Status.Synchronized {
		t.Errorf("%d new, %d old ready, service %+v", newer, ready, s.Status)
	}
}

func TestSequentialDeployment(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	joined(t, c, "n1", fake.New())
	waitDeployed(t, c, 1)
	spec := api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 4, Sequential: true,
		Healthcheck: &api.Healthcheck{Command: []string{"check"}, Interval: "200ms"}}
	if _, err := c.Client.CreateService(context.Background(), "seq", spec); err != nil {
		t.Fatal(err)
	}
	var starts []time.Time
	waitService(t, c, "seq", func(s api.Service, cts []api.Container) error {
		if s.Status.RunningContainers != 4 {
			return fmt.Errorf("%d ready", s.Status.RunningContainers)
		}
		slices.SortFunc(cts, func(a, b api.Container) int { return a.Spec.Slot - b.Spec.Slot })
		starts = starts[:0]
		for _, ct := range cts {
			starts = append(starts, ct.Status.StartedAt)
		}
		return nil
	})
	for i := 1; i < len(starts); i++ {
		gap := starts[i].Sub(starts[i-1])
		t.Logf("slot %d started %v after slot %d", i+1, gap.Round(time.Millisecond), i)
		// Loose: the slot before needs one health interval (200ms) to be ready.
		if gap < 150*time.Millisecond {
			t.Errorf("slot %d started %v after slot %d: not after it was ready", i+1, gap, i)
		}
	}
}

func TestLinkVariables(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	joined(t, c, "n1", fake.New())
	waitDeployed(t, c, 1)
	ctx := context.Background()
	// The fake driver publishes no ports: its workload's port is its $PORT,
	// which is then both the container and the host port.
	db := api.ServiceSpec{Command: []string{"db"}, Driver: "fake", Replicas: 1, Env: map[string]string{"POSTGRES_DB": "app"}}
	if _, err := c.Client.CreateService(ctx, "db", db); err != nil {
		t.Fatal(err)
	}
	waitService(t, c, "db", func(s api.Service, _ []api.Container) error {
		if s.Status.RunningContainers != 1 {
			return fmt.Errorf("db: %d ready", s.Status.RunningContainers)
		}
		return nil
	})
	web := api.ServiceSpec{Command: []string{"web"}, Driver: "fake", Replicas: 1, Links: []string{"db"}}
	if _, err := c.Client.CreateService(ctx, "web", web); err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	waitService(t, c, "web", func(_ api.Service, cts []api.Container) error {
		if len(cts) != 1 {
			return fmt.Errorf("%d containers", len(cts))
		}
		env = cts[0].Spec.Env
		return nil
	})
	dbc, err := c.Client.Containers(ctx, "db", "")
	if err != nil || len(dbc) != 1 {
		t.Fatal(dbc, err)
	}
	port := fmt.Sprint(dbc[0].Status.HostPort)
	p := "DB_1_PORT_" + port + "_TCP"
	for k, want := range map[string]string{
		p + "_PORT": port, p + "_PROTO": "tcp", "DB_1_NAME": "/web-1/db_1", "DB_1_ENV_POSTGRES_DB": "app",
	} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q (env %v)", k, env[k], want, env)
		}
	}
	addr := env[p+"_ADDR"]
	if addr == "" || env[p] != "tcp://"+addr+":"+port || env["DB_1_PORT"] != env[p] {
		t.Errorf("address variables: %v", env)
	}
}
