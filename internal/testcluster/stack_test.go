package testcluster

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/compose"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// stackFile is a three-service stack for the fake driver; mode is the
// worker's MODE and db is left out when withDB is false.
func stackFile(mode string, withDB bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `services:
  web:
    command: [web]
    deploy: {replicas: 2}
    x-wharf: {driver: fake}
  worker:
    command: [worker]
    environment: {MODE: %s}
    deploy: {replicas: 2, update_config: {parallelism: 2}}
    x-wharf: {driver: fake}
`, mode)
	if withDB {
		b.WriteString("  db:\n    command: [db]\n    x-wharf: {driver: fake}\n")
	}
	return b.String()
}

// runs is what runs of a stack: container name to its container ID and start
// time, for the containers desired Running: a replacement has a new ID, a
// restart a new start time.
type runs map[string]string

func stackRuns(t *testing.T, c *Cluster, stack string) (runs, error) {
	t.Helper()
	ctx := context.Background()
	svcs, err := c.Client.StackServices(ctx, stack)
	if err != nil {
		return nil, err
	}
	out := runs{}
	for _, s := range svcs {
		cts, err := c.Client.Containers(ctx, s.ID, "")
		if err != nil {
			return nil, err
		}
		for _, ct := range cts {
			if ct.Spec.Desired != api.ContainerRunning {
				continue
			}
			if ct.Status.State != api.ContainerRunning {
				return nil, fmt.Errorf("%s is %s", ct.Name, ct.Status.State)
			}
			out[ct.Name] = ct.ID + "@" + ct.Status.StartedAt.String()
		}
	}
	return out, nil
}

// TestStackLifecycle deploys a stack from a compose file onto two agents
// and checks what each later deploy does to the containers themselves:
// the same file restarts nothing, a changed service is the only one
// replaced, a service dropped from the file goes, and rm removes it all.
func TestStackLifecycle(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	c.AddAgent("n1", nil, fake.New())
	c.AddAgent("n2", nil, fake.New())
	waitDeployed(t, c, 2)

	file := filepath.Join(t.TempDir(), "compose.yml")
	deploy := func(content string) api.DeployStackResult {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := compose.Load(ctx, compose.Options{Files: []string{file}, ProjectName: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Client.DeployStack(ctx, "shop", st.StackSpec(), false)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	actions := func(res api.DeployStackResult) map[string]string {
		out := map[string]string{}
		for _, e := range res.Plan {
			out[e.Service] = e.Action
		}
		return out
	}
	waitRuns := func(what string, check func(runs) error) runs {
		t.Helper()
		var got runs
		Eventually(t, 30*time.Second, func() error {
			r, err := stackRuns(t, c, "shop")
			if err != nil {
				return err
			}
			got = r
			if err := check(r); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		})
		return got
	}
	names := func(want ...string) func(runs) error {
		return func(r runs) error {
			if got := slices.Sorted(maps.Keys(r)); !slices.Equal(got, want) {
				return fmt.Errorf("running %v, want %v", got, want)
			}
			return nil
		}
	}
	all := []string{"shop-db-1", "shop-web-1", "shop-web-2", "shop-worker-1", "shop-worker-2"}

	res := deploy(stackFile("a", true))
	if got := actions(res); got["web"] != api.PlanCreate || got["worker"] != api.PlanCreate || got["db"] != api.PlanCreate {
		t.Fatalf("first deploy plan %v", got)
	}
	first := waitRuns("first deploy", names(all...))

	// The same file: every service unchanged, and no container replaced or
	// restarted, also after the controllers had time to act.
	res = deploy(stackFile("a", true))
	for svc, a := range actions(res) {
		if a != api.PlanUnchanged {
			t.Fatalf("same file: %s %s", a, svc)
		}
	}
	time.Sleep(time.Second)
	if again := waitRuns("same file", names(all...)); !maps.Equal(again, first) {
		t.Fatalf("the same file changed the runs:\nbefore %v\nafter  %v", first, again)
	}

	// Only the worker changes: its containers are replaced, the others stay.
	res = deploy(stackFile("b", true))
	if got := actions(res); got["worker"] != api.PlanUpdate || got["web"] != api.PlanUnchanged || got["db"] != api.PlanUnchanged {
		t.Fatalf("worker change plan %v", got)
	}
	waitRuns("worker replaced", func(r runs) error {
		if err := names(all...)(r); err != nil {
			return err
		}
		for name, run := range r {
			replaced := run != first[name]
			if strings.HasPrefix(name, "shop-worker-") != replaced {
				return fmt.Errorf("%s replaced: %v", name, replaced)
			}
		}
		return nil
	})
	for _, ct := range mustContainers(t, c, "shop-worker") {
		if ct.Spec.Desired == api.ContainerRunning && ct.Spec.Env["MODE"] != "b" {
			t.Fatalf("%s runs with MODE=%q", ct.Name, ct.Spec.Env["MODE"])
		}
	}

	// db leaves the file: its service goes; web keeps its runs.
	res = deploy(stackFile("b", false))
	if got := actions(res); got["db"] != api.PlanRemove || got["web"] != api.PlanUnchanged {
		t.Fatalf("db removed plan %v", got)
	}
	waitRuns("db gone", func(r runs) error {
		if err := names("shop-web-1", "shop-web-2", "shop-worker-1", "shop-worker-2")(r); err != nil {
			return err
		}
		if r["shop-web-1"] != first["shop-web-1"] || r["shop-web-2"] != first["shop-web-2"] {
			return fmt.Errorf("web was replaced")
		}
		return nil
	})
	Eventually(t, 30*time.Second, func() error {
		if _, err := c.Client.Service(ctx, "shop-db"); err == nil {
			return fmt.Errorf("service shop-db still exists")
		}
		return nil
	})

	if err := c.Client.RemoveStack(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		svcs, err := c.Client.Services(ctx)
		if err != nil {
			return err
		}
		cts, err := c.Client.Containers(ctx, "", "")
		if err != nil {
			return err
		}
		if len(svcs) != 0 || len(cts) != 0 {
			return fmt.Errorf("%d services and %d containers left", len(svcs), len(cts))
		}
		return nil
	})
	if _, err := c.Client.Stack(ctx, "shop"); err == nil {
		t.Fatal("the stack is still there after rm")
	}
}

func mustContainers(t *testing.T, c *Cluster, service string) []api.Container {
	t.Helper()
	cts, err := c.Client.Containers(context.Background(), service, "")
	if err != nil {
		t.Fatal(err)
	}
	return cts
}
