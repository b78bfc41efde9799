package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

var checked = &api.Healthcheck{Command: []string{"true"}}

// editContainer changes a container's Status as the gateway would.
func (e *env) editContainer(id string, fn func(*api.ContainerStatus)) {
	e.t.Helper()
	var c api.Container
	if err := e.st.Modify(e.ctx, store.KindContainers, id, &c, func() ([]api.Event, error) {
		fn(&c.Status)
		return nil, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// runAll marks every container of a service desired Running as Running,
// with health (when not "").
func (e *env) runAll(serviceID, health string) {
	e.t.Helper()
	for _, c := range e.containers(serviceID) {
		if c.Spec.Desired == api.ContainerRunning {
			e.editContainer(c.ID, func(s *api.ContainerStatus) { s.State, s.Health = api.ContainerRunning, health })
		}
	}
}

// exitAll marks every container of a service Stopped with an exit code.
func (e *env) exitAll(serviceID string, code int) {
	e.t.Helper()
	for _, c := range e.containers(serviceID) {
		e.editContainer(c.ID, func(s *api.ContainerStatus) { s.State, s.ExitCode = api.ContainerStopped, &code })
	}
}

// waitPending waits for a service's Status.Pending (and its state).
func (e *env) waitPending(id string, state api.ServiceState, pending string) {
	e.t.Helper()
	e.eventually(10*time.Second, func() error {
		s, err := e.service(id)
		if err != nil {
			return err
		}
		if s.Status.Pending != pending || s.Status.State != state {
			return fmt.Errorf("status %s, pending %q; want %s, %q", s.Status.State, s.Status.Pending, state, pending)
		}
		return nil
	})
}

// waitCount waits for n containers of a service, each placed.
func (e *env) waitCount(id string, n int) []*api.Container {
	e.t.Helper()
	var cs []*api.Container
	e.eventually(10*time.Second, func() error {
		cs = e.containers(id)
		if len(cs) != n {
			return fmt.Errorf("%d containers, want %d: %s", len(cs), n, describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Node == "" {
				return fmt.Errorf("unplaced: %s", describe(cs))
			}
		}
		return nil
	})
	return cs
}

// noContainers fails if the service has any container.
func (e *env) noContainers(id string) {
	e.t.Helper()
	if cs := e.containers(id); len(cs) != 0 {
		e.t.Fatalf("held service has containers: %s", describe(cs))
	}
}

func dependsOn(name, cond string) []api.Dependency {
	return []api.Dependency{{Service: name, Condition: cond}}
}

func TestDependsOnHealthy(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	db := e.createService("shop-db", api.ServiceSpec{Command: []string{"db"}, Replicas: 2, Healthcheck: checked})
	app := e.createService("shop-app", api.ServiceSpec{Command: []string{"app"}, Replicas: 2, DependsOn: dependsOn("shop-db", api.ConditionHealthy)})

	e.waitCount(db.ID, 2)
	e.waitPending(app.ID, api.ServiceStarting, "waiting for service shop-db to be healthy (0 of 2 containers healthy)")
	e.noContainers(app.ID)

	// Running but not healthy yet: still held.
	e.runAll(db.ID, api.HealthStarting)
	e.waitState(db.ID, api.ServiceStarting, 0)
	e.waitPending(app.ID, api.ServiceStarting, "waiting for service shop-db to be healthy (0 of 2 containers healthy)")
	e.editContainer(e.containers(db.ID)[0].ID, func(s *api.ContainerStatus) { s.Health = api.HealthHealthy })
	e.waitPending(app.ID, api.ServiceStarting, "waiting for service shop-db to be healthy (1 of 2 containers healthy)")
	e.noContainers(app.ID)

	// Both healthy: the app starts and the reason clears.
	e.runAll(db.ID, api.HealthHealthy)
	e.waitCount(app.ID, 2)
	e.waitPending(app.ID, api.ServiceStarting, "")
	e.runAll(app.ID, "")
	e.waitState(app.ID, api.ServiceRunning, 2)

	// The db turns unhealthy: the running app is not stopped.
	e.editContainer(e.containers(db.ID)[1].ID, func(s *api.ContainerStatus) { s.Health = api.HealthUnhealthy })
	e.waitState(db.ID, api.ServiceFailing, 1) // issue 13: an unhealthy slot is a failing one
	for _, c := range e.containers(app.ID) {
		if c.Spec.Desired != api.ContainerRunning {
			t.Fatalf("dependant stopped when its dependency turned unhealthy: %s", describe(e.containers(app.ID)))
		}
	}
	e.waitState(app.ID, api.ServiceRunning, 2)

	// But a slot of it that must start again (its node is gone) waits.
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	if err := e.st.Delete(e.ctx, store.KindNodes, "n1", 0); err != nil {
		t.Fatal(err)
	}
	e.waitPending(app.ID, api.ServiceScaling, "waiting for service shop-db to be healthy (0 of 2 containers healthy)")
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(app.ID); len(cs) != 0 {
			return fmt.Errorf("lost slots replaced while the dependency is unhealthy: %s", describe(cs))
		}
		return nil
	})
	e.runAll(db.ID, api.HealthHealthy)
	cs := e.waitCount(app.ID, 2)
	if cs[0].Spec.Node != "n2" {
		t.Fatalf("replacements: %s", describe(cs))
	}
	e.waitPending(app.ID, api.ServiceScaling, "")
}

// TestDependsOnRestartedDependency: while the dependency is being replaced
// (a restart), a rollout of its dependant does not start; it goes on once
// the new dependency containers are healthy.
func TestDependsOnRestartedDependency(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	db := e.createService("db", api.ServiceSpec{Command: []string{"db"}, Replicas: 1, Healthcheck: checked})
	app := e.createService("app", api.ServiceSpec{Command: []string{"app"}, Replicas: 1, DependsOn: dependsOn("db", api.ConditionHealthy)})
	e.waitCount(db.ID, 1)
	e.runAll(db.ID, api.HealthHealthy)
	old := e.waitCount(app.ID, 1)[0]
	e.runAll(app.ID, "")
	e.waitState(app.ID, api.ServiceRunning, 1)

	// Restart the db: its container is stopped before it runs again.
	e.modifyService(db.ID, func(s *api.Service) { s.RestartGeneration = 1 })
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(db.ID); len(cs) != 1 || cs[0].Spec.Desired != api.ContainerTerminated {
			return fmt.Errorf("db: %s", describe(cs))
		}
		return nil
	})
	// Restart the app meanwhile: its rollout waits for the db.
	e.modifyService(app.ID, func(s *api.Service) { s.RestartGeneration = 1 })
	e.waitPending(app.ID, api.ServiceRedeploying, "waiting for service db to be healthy (no container yet)")
	e.setAll(db.ID, api.ContainerTerminated, nil)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(db.ID); len(cs) != 1 || cs[0].Spec.Generation != 1 || cs[0].Spec.Node == "" {
			return fmt.Errorf("db: %s", describe(cs))
		}
		return nil
	})
	e.waitPending(app.ID, api.ServiceRedeploying, "waiting for service db to be healthy (0 of 1 containers healthy)")
	if cs := e.containers(app.ID); len(cs) != 1 || cs[0].ID != old.ID || cs[0].Spec.Desired != api.ContainerRunning {
		t.Fatalf("app rolled while its dependency restarts: %s", describe(cs))
	}

	// The new db is healthy: the app's rollout goes on.
	e.runAll(db.ID, api.HealthHealthy)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(app.ID); len(cs) != 1 || cs[0].Spec.Desired != api.ContainerTerminated {
			return fmt.Errorf("app: %s", describe(cs))
		}
		return nil
	})
	e.setAll(app.ID, api.ContainerTerminated, nil)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(app.ID); len(cs) != 1 || cs[0].ID == old.ID || cs[0].Spec.Generation != 1 {
			return fmt.Errorf("app: %s", describe(cs))
		}
		return nil
	})
	e.runAll(app.ID, "")
	e.waitState(app.ID, api.ServiceRunning, 1)
	e.waitPending(app.ID, api.ServiceRunning, "")
}

func TestDependsOnStarted(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	cache := e.createService("cache", api.ServiceSpec{Command: []string{"cache"}, Replicas: 2})
	web := e.createService("web", api.ServiceSpec{Command: []string{"web"}, Replicas: 1, DependsOn: dependsOn("cache", api.ConditionStarted)})
	cs := e.waitCount(cache.ID, 2)
	e.waitPending(web.ID, api.ServiceStarting, "waiting for service cache to start (0 of 2 containers running)")
	e.setStatus(cs[0].ID, api.ContainerRunning)
	e.waitPending(web.ID, api.ServiceStarting, "waiting for service cache to start (1 of 2 containers running)")
	e.noContainers(web.ID)
	e.setStatus(cs[1].ID, api.ContainerRunning)
	e.waitCount(web.ID, 1)
	e.waitPending(web.ID, api.ServiceStarting, "")
}

func TestDependsOnCompleted(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	mig := e.createService("shop-migrate", api.ServiceSpec{Command: []string{"migrate"}, Replicas: 1})
	web := e.createService("shop-web", api.ServiceSpec{Command: []string{"web"}, Replicas: 1, DependsOn: dependsOn("shop-migrate", api.ConditionCompleted)})
	e.waitCount(mig.ID, 1)
	e.waitPending(web.ID, api.ServiceStarting, "waiting for service shop-migrate to complete successfully (0 of 1 containers completed)")
	e.runAll(mig.ID, "")
	e.waitState(mig.ID, api.ServiceRunning, 1)
	e.waitPending(web.ID, api.ServiceStarting, "waiting for service shop-migrate to complete successfully (0 of 1 containers completed)")

	// A failed run never holds.
	e.exitAll(mig.ID, 1)
	e.waitPending(web.ID, api.ServiceStarting, "waiting for service shop-migrate to complete successfully (shop-migrate-1 exited with code 1)")
	e.waitState(mig.ID, api.ServiceFailing, 0) // issue 13: an exit with an error is a failure
	e.noContainers(web.ID)

	// Run again, exit 0: it holds.
	e.runAll(mig.ID, "")
	e.waitPending(web.ID, api.ServiceStarting, "waiting for service shop-migrate to complete successfully (0 of 1 containers completed)")
	e.exitAll(mig.ID, 0)
	e.waitCount(web.ID, 1)
	e.waitPending(web.ID, api.ServiceStarting, "")
}

func TestDependsOnCannotHold(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	plain := e.createService("shop-cache", api.ServiceSpec{Command: []string{"cache"}, Replicas: 1})
	web := e.createService("shop-web", api.ServiceSpec{Command: []string{"web"}, Replicas: 1, DependsOn: []api.Dependency{
		{Service: "shop-db", Condition: api.ConditionStarted},
		{Service: "shop-cache", Condition: api.ConditionHealthy},
	}})
	e.waitCount(plain.ID, 1)
	e.runAll(plain.ID, "")
	e.waitState(plain.ID, api.ServiceRunning, 1)
	e.waitPending(web.ID, api.ServiceStarting,
		"service shop-cache has no health check: service_healthy cannot hold\nwaiting for service shop-db, which does not exist")
	e.noContainers(web.ID)

	// The missing dependency appears and starts: only the other reason is left.
	db := e.createService("shop-db", api.ServiceSpec{Command: []string{"db"}, Replicas: 1})
	e.waitCount(db.ID, 1)
	e.runAll(db.ID, "")
	e.waitPending(web.ID, api.ServiceStarting, "service shop-cache has no health check: service_healthy cannot hold")

	// The cache gets a health check (its containers are replaced) and turns healthy.
	e.modifyService(plain.ID, func(s *api.Service) { s.Spec.Healthcheck = checked; s.RestartGeneration = 1 })
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(plain.ID); len(cs) != 1 || cs[0].Spec.Desired != api.ContainerTerminated {
			return fmt.Errorf("cache: %s", describe(cs))
		}
		return nil
	})
	e.setAll(plain.ID, api.ContainerTerminated, nil)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(plain.ID); len(cs) != 1 || cs[0].Spec.Generation != 1 || cs[0].Spec.Node == "" {
			return fmt.Errorf("cache: %s", describe(cs))
		}
		return nil
	})
	e.runAll(plain.ID, api.HealthHealthy)
	e.waitCount(web.ID, 1)
	e.waitPending(web.ID, api.ServiceStarting, "")
}

// TestDependsOnStart: a dependant started
// again (after a stop) waits too.
func TestDependsOnStart(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	db := e.createService("db", api.ServiceSpec{Command: []string{"db"}, Replicas: 1})
	app := e.createService("app", api.ServiceSpec{Command: []string{"app"}, Replicas: 1, DependsOn: dependsOn("db", api.ConditionStarted)})
	e.waitCount(db.ID, 1)
	e.runAll(db.ID, "")
	e.waitCount(app.ID, 1)
	e.runAll(app.ID, "")
	e.waitState(app.ID, api.ServiceRunning, 1)

	// Both stop; the app is started first: it waits for the db.
	for _, id := range []string{db.ID, app.ID} {
		e.modifyService(id, func(s *api.Service) { s.Spec.Running = false })
		e.setAll(id, api.ContainerStopped, nil)
		e.waitState(id, api.ServiceStopped, 0)
	}
	e.modifyService(app.ID, func(s *api.Service) { s.Spec.Running = true })
	e.waitPending(app.ID, api.ServiceStarting, "waiting for service db, which is stopped")
	if cs := e.containers(app.ID); len(cs) != 1 || cs[0].Spec.Desired != api.ContainerStopped {
		t.Fatalf("app started before its dependency: %s", describe(cs))
	}
	e.modifyService(db.ID, func(s *api.Service) { s.Spec.Running = true })
	e.waitPending(app.ID, api.ServiceStarting, "waiting for service db to start (0 of 1 containers running)")
	e.runAll(db.ID, "")
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(app.ID); len(cs) != 1 || cs[0].Spec.Desired != api.ContainerRunning {
			return fmt.Errorf("app: %s", describe(cs))
		}
		return nil
	})
	e.waitPending(app.ID, api.ServiceStarting, "")
}

// TestDependantsMarkedDirty: a change to a dependency, or to one of its
// containers, marks its dependants (and only them) dirty, through the
// cache's reverse index, which follows spec changes.
func TestDependantsMarkedDirty(t *testing.T) {
	c := NewServices(nil, nil)
	c.cache = newCache()
	rev := int64(0)
	change := func(kind string, obj store.Object, deleted bool) store.Change {
		rev++
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		return store.Change{Kind: kind, ID: obj.GetMeta().ID, Value: b, Revision: rev, Deleted: deleted}
	}
	svc := func(id, name string, deps ...api.Dependency) *api.Service {
		return &api.Service{Meta: api.Meta{ID: id, Name: name}, Spec: api.ServiceSpec{Command: []string{"x"}, Running: true, DependsOn: deps}}
	}
	ct := &api.Container{Meta: api.Meta{ID: "c1", Name: "db-1"}, Spec: api.ContainerSpec{Service: "s-db", Slot: 1}}
	apply := func(want []string, chs ...store.Change) {
		t.Helper()
		c.dirty = map[string]bool{}
		c.applyBatch(store.WatchBatch{Changes: chs, Revision: rev})
		got := slices.Sorted(maps.Keys(c.dirty))
		if !slices.Equal(got, want) {
			t.Fatalf("dirty %v, want %v", got, want)
		}
	}
	healthy := api.Dependency{Service: "db", Condition: api.ConditionHealthy}
	apply([]string{"s-app", "s-db", "s-other"},
		change(store.KindServices, svc("s-app", "app", healthy), false),
		change(store.KindServices, svc("s-other", "other"), false),
		change(store.KindServices, svc("s-db", "db"), false))
	if c.cache.byName["db"] != "s-db" || !c.cache.dependants["db"]["s-app"] {
		t.Fatalf("indexes: %v %v", c.cache.byName, c.cache.dependants)
	}
	apply([]string{"s-app", "s-db"}, change(store.KindContainers, ct, false))
	apply([]string{"s-other"}, change(store.KindServices, svc("s-other", "other"), false))

	// The app no longer depends on the db: a db change leaves it alone.
	apply([]string{"s-app"}, change(store.KindServices, svc("s-app", "app"), false))
	if len(c.cache.dependants) != 0 {
		t.Fatalf("reverse index kept %v", c.cache.dependants)
	}
	apply([]string{"s-db"}, change(store.KindContainers, ct, true))

	// A dependency that does not exist yet: its creation marks the dependant.
	apply([]string{"s-app"}, change(store.KindServices, svc("s-app", "app", api.Dependency{Service: "cache", Condition: api.ConditionStarted}), false))
	apply([]string{"s-app", "s-cache"}, change(store.KindServices, svc("s-cache", "cache"), false))
	apply([]string{"s-app", "s-cache"}, change(store.KindServices, svc("s-cache", "cache"), true))
	if _, ok := c.cache.byName["cache"]; ok {
		t.Fatalf("name index kept a deleted service: %v", c.cache.byName)
	}
}

// TestDependsOnSamePassRestart: the pass that restarts a dependency also
// reconciles a restarted dependant; the dependency's old container, still
// healthy in the cache, must not let the dependant's rollout start.
func TestDependsOnSamePassRestart(t *testing.T) {
	c := NewServices(nil, nil)
	c.cache = newCache()
	c.dirty = map[string]bool{}
	cacheDefaultNetwork(c)
	c.cache.nodes["n1"] = &api.Node{Meta: api.Meta{ID: "n1", Revision: 1}, State: api.NodeDeployed, Drivers: execOnly}
	for _, s := range []*api.Service{
		{Meta: api.Meta{ID: "s-db", Name: "db", Revision: 1}, Spec: api.ServiceSpec{Command: []string{"db"}, Replicas: 1, Running: true, Healthcheck: checked}},
		{Meta: api.Meta{ID: "s-app", Name: "app", Revision: 1}, Spec: api.ServiceSpec{Command: []string{"app"}, Replicas: 1, Running: true, DependsOn: dependsOn("db", api.ConditionHealthy)}},
	} {
		s.RestartGeneration = 1 // both just restarted
		s.Status = api.ServiceStatus{State: api.ServiceRunning, RunningContainers: 1, Synchronized: true}
		c.cache.putService(s)
		c.cache.putContainer(&api.Container{
			Meta:   api.Meta{ID: s.ID + "-1", Name: s.Name + "-1", Revision: 1},
			Spec:   api.ContainerSpec{Service: s.ID, Slot: 1, Node: "n1", Command: s.Spec.Command, Driver: "exec", Desired: api.ContainerRunning, Healthcheck: s.Spec.Healthcheck},
			Status: api.ContainerStatus{State: api.ContainerRunning, Health: api.HealthHealthy},
		})
	}
	c.markAll()
	stopped := map[string]bool{}
	for _, u := range c.decide(context.Background()) {
		for _, o := range u {
			if ct, ok := o.obj.(*api.Container); ok && ct.Spec.Desired == api.ContainerTerminated {
				stopped[ct.Spec.Service] = true
			}
		}
	}
	if !stopped["s-db"] || stopped["s-app"] {
		t.Fatalf("stopped %v: want db's old container stopped, app's kept until the new db is healthy", stopped)
	}
}
