package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

var execOnly = []string{"exec"}

func TestSpreadScaleDownAndStatus(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"n1", "n2", "n3"} {
		e.putNode(id, api.NodeDeployed, execOnly, nil)
	}
	svc := e.createService("web", api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: 6, Env: map[string]string{"A": "1"}})

	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 6 {
			return fmt.Errorf("%d containers: %s", len(cs), describe(cs))
		}
		perNode := map[string]int{}
		for i, c := range cs {
			if c.Name != fmt.Sprintf("web-%d", i+1) || c.Spec.Slot != i+1 {
				return fmt.Errorf("container %d is %s slot %d", i, c.Name, c.Spec.Slot)
			}
			if c.Spec.Driver != "exec" || c.Spec.Desired != api.ContainerRunning || c.Status.State != api.ContainerPending || c.Spec.Env["A"] != "1" {
				return fmt.Errorf("bad container: %+v", c)
			}
			perNode[c.Spec.Node]++
		}
		if perNode["n1"] != 2 || perNode["n2"] != 2 || perNode["n3"] != 2 {
			return fmt.Errorf("per node: %v", perNode)
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceStarting, 0)

	// Agents start them: Partly running, then Running.
	cs := e.containers(svc.ID)
	e.setStatus(cs[0].ID, api.ContainerRunning)
	e.waitState(svc.ID, api.ServicePartlyRunning, 1)
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 6)

	// Scale down to 2: slots 3..6 are to be Terminated.
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Replicas = 2 })
	e.eventually(10*time.Second, func() error {
		for _, c := range e.containers(svc.ID) {
			want := api.ContainerRunning
			if c.Spec.Slot > 2 {
				want = api.ContainerTerminated
			}
			if c.Spec.Desired != want {
				return fmt.Errorf("%s desired %s, want %s", c.Name, c.Spec.Desired, want)
			}
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceScaling, 2)
	// Their status was not overwritten by the spec change.
	for _, c := range e.containers(svc.ID) {
		if c.Status.State != api.ContainerRunning {
			t.Fatalf("%s status %s: clobbered", c.Name, c.Status.State)
		}
	}

	// Agents confirm: the containers are deleted.
	e.setAll(svc.ID, api.ContainerTerminated, func(c *api.Container) bool { return c.Spec.Slot > 2 })
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Name != "web-1" || cs[1].Name != "web-2" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceRunning, 2)

	// Scale up on a running service: Scaling until the new slots run.
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Replicas = 3 })
	e.waitState(svc.ID, api.ServiceScaling, 2)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 3 || cs[2].Name != "web-3" || cs[2].Spec.Node == "" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, func(c *api.Container) bool { return c.Spec.Slot == 3 })
	e.waitState(svc.ID, api.ServiceRunning, 3)

	// A crash makes it Partly running.
	e.setStatus(e.containers(svc.ID)[1].ID, api.ContainerStopped)
	e.waitState(svc.ID, api.ServicePartlyRunning, 2)
}

func TestPendingUntilANodeFits(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, map[string]string{"zone": "internal"})
	e.putNode("n2", api.NodeUnreachable, execOnly, nil)
	svc := e.createService("db", api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: 2, Tags: []string{"zone=external"}})

	want := "0 of 2 nodes: 1 not Deployed, 1 lacks tag zone=external"
	e.eventually(10*time.Second, func() error {
		s, err := e.service(svc.ID)
		if err != nil {
			return err
		}
		if s.Status.Pending != want || s.Status.State != api.ServiceNotRunning {
			return fmt.Errorf("status %+v", s.Status)
		}
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Spec.Node != "" || cs[1].Spec.Node != "" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.eventually(5*time.Second, func() error {
		evs, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Kind == "service" && ev.Type == "pending" && strings.Contains(ev.Message, want) {
				return nil
			}
		}
		return errors.New("no pending event")
	})

	e.putNode("n3", api.NodeDeployed, execOnly, map[string]string{"zone": "external"})
	e.eventually(10*time.Second, func() error {
		for _, c := range e.containers(svc.ID) {
			if c.Spec.Node != "n3" {
				return fmt.Errorf("%s on %q", c.Name, c.Spec.Node)
			}
		}
		s, err := e.service(svc.ID)
		if err != nil {
			return err
		}
		if s.Status.Pending != "" {
			return fmt.Errorf("pending %q", s.Status.Pending)
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceStarting, 0)
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 2)
}

func TestStopStartTerminate(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	svc := e.createService("api", api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: 3})
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(svc.ID); len(cs) != 3 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 3)

	// Stop.
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Running = false })
	desired := func(want api.ContainerState) func() error {
		return func() error {
			for _, c := range e.containers(svc.ID) {
				if c.Spec.Desired != want {
					return fmt.Errorf("containers: %s", describe(e.containers(svc.ID)))
				}
			}
			return nil
		}
	}
	e.eventually(10*time.Second, desired(api.ContainerStopped))
	e.waitState(svc.ID, api.ServiceStopping, 0)
	e.setAll(svc.ID, api.ContainerStopped, nil)
	e.waitState(svc.ID, api.ServiceStopped, 0)

	// Start.
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Running = true })
	e.eventually(10*time.Second, desired(api.ContainerRunning))
	e.waitState(svc.ID, api.ServiceStarting, 0)
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 3)

	// Terminate: every container to Terminated; n2 goes away, so its
	// containers are deleted without confirmation.
	e.modifyService(svc.ID, func(s *api.Service) { s.Terminating, s.Spec.Running = true, false })
	e.eventually(10*time.Second, desired(api.ContainerTerminated))
	e.waitState(svc.ID, api.ServiceTerminating, 0)
	e.putNode("n2", api.NodeUnreachable, execOnly, nil)
	e.eventually(10*time.Second, func() error {
		for _, c := range e.containers(svc.ID) {
			if c.Spec.Node != "n1" {
				return fmt.Errorf("containers: %s", describe(e.containers(svc.ID)))
			}
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerTerminated, nil)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(svc.ID); len(cs) != 0 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		if _, err := e.service(svc.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("service still there (%v)", err)
		}
		var idx nameIdx
		if err := e.st.Get(e.ctx, store.KindNames, "services.api", &idx); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("name index still there (%v)", err)
		}
		return nil
	})
}

func TestStoppedServiceScaleAndNoNodes(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("w", api.ServiceSpec{Image: "nginx", Replicas: 2})
	e.eventually(10*time.Second, func() error {
		s, err := e.service(svc.ID)
		if err != nil {
			return err
		}
		cs := e.containers(svc.ID)
		if s.Status.Pending != "no nodes" || len(cs) != 2 || cs[0].Spec.Driver != "docker" {
			return fmt.Errorf("status %+v, containers %s", s.Status, describe(cs))
		}
		return nil
	})
	// Stopped: the unplaced containers stay unplaced, desired Stopped, and
	// nothing is pending any more; scaling a stopped service creates
	// stopped slots.
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Running = false; s.Spec.Replicas = 3 })
	e.putNode("n1", api.NodeDeployed, []string{"docker"}, nil)
	e.waitState(svc.ID, api.ServiceStopped, 0)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 3 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Desired != api.ContainerStopped || c.Spec.Node != "" {
				return fmt.Errorf("containers: %s", describe(cs))
			}
		}
		if s, _ := e.service(svc.ID); s.Status.Pending != "" {
			return fmt.Errorf("pending %q", s.Status.Pending)
		}
		return nil
	})
	// Scale to 0 while stopped: unplaced containers go at once.
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Replicas = 0 })
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(svc.ID); len(cs) != 0 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Running = true })
	e.waitState(svc.ID, api.ServiceNotRunning, 0)
}

func TestNodeRemovedAndOrphans(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("job", api.ServiceSpec{Command: []string{"true"}, Replicas: 2})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Spec.Node != "n1" || cs[1].Spec.Node != "n1" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	old := e.containers(svc.ID)

	// n1 is removed, n2 joins: both slots are replaced on n2.
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	if err := e.st.Delete(e.ctx, store.KindNodes, "n1", 0); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Spec.Node != "n2" || cs[1].Spec.Node != "n2" || cs[0].ID == old[0].ID || cs[1].ID == old[1].ID {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})

	// A container whose service no longer exists is terminated, then
	// deleted once its agent confirms.
	orphan := &api.Container{Meta: api.Meta{ID: "orphan1", Name: "gone-1"}, Spec: api.ContainerSpec{Service: "nosuch", Slot: 1, Node: "n2", Driver: "exec", Desired: api.ContainerRunning}, Status: api.ContainerStatus{State: api.ContainerRunning}}
	if err := e.st.Create(e.ctx, store.KindContainers, orphan); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, func() error {
		cs := e.containers("nosuch")
		if len(cs) != 1 || cs[0].Spec.Desired != api.ContainerTerminated || cs[0].Status.State != api.ContainerRunning {
			return fmt.Errorf("orphan: %s", describe(cs))
		}
		return nil
	})
	e.setStatus("orphan1", api.ContainerTerminated)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers("nosuch"); len(cs) != 0 {
			return fmt.Errorf("orphan: %s", describe(cs))
		}
		return nil
	})
}

// TestStatusNeverClobbered races agent status writes against spec changes.
func TestStatusNeverClobbered(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("race", api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 20})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 20 || cs[19].Spec.Node == "" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	cs := e.containers(svc.ID)
	for round := 0; round < 4; round++ {
		running := round%2 == 1
		e.modifyService(svc.ID, func(s *api.Service) { s.Spec.Running = running })
		state := api.ContainerRunning
		if !running {
			state = api.ContainerStopped
		}
		// Agents write statuses concurrently with the controller's spec
		// writes, several times each, so that some of them collide.
		for rep := 0; rep < 5; rep++ {
			for _, c := range cs {
				var cur api.Container
				if err := e.st.Modify(e.ctx, store.KindContainers, c.ID, &cur, func() ([]api.Event, error) {
					cur.Status.State = state
					cur.Status.RestartCount = rep
					return nil, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := api.ContainerStopped
		if running {
			want = api.ContainerRunning
		}
		e.eventually(10*time.Second, func() error {
			for _, c := range e.containers(svc.ID) {
				if c.Status.State != state || c.Spec.Desired != want {
					return fmt.Errorf("round %d: %s", round, describe(e.containers(svc.ID)))
				}
			}
			return nil
		})
	}
}

func TestManyServices(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := newEnv(t)
	for i := 0; i < 20; i++ {
		e.putNode(fmt.Sprintf("n%02d", i), api.NodeDeployed, execOnly, nil)
	}
	var ids []string
	for i := 0; i < 100; i++ {
		ids = append(ids, e.createService(fmt.Sprintf("s%03d", i), api.ServiceSpec{Command: []string{"x"}, Replicas: 10}).ID)
	}
	start := time.Now()
	e.eventually(30*time.Second, func() error {
		all, _, err := store.ListAll[api.Container](e.ctx, e.st, store.KindContainers)
		if err != nil {
			return err
		}
		perNode := map[string]int{}
		for _, c := range all {
			if c.Spec.Node == "" {
				return fmt.Errorf("%s unplaced", c.Name)
			}
			perNode[c.Spec.Node]++
		}
		if len(all) != 1000 {
			return fmt.Errorf("%d containers", len(all))
		}
		for n, c := range perNode {
			if c != 50 {
				return fmt.Errorf("%s has %d", n, c)
			}
		}
		return nil
	})
	t.Logf("1000 containers created and placed in %v", time.Since(start))
	for _, id := range ids {
		e.modifyService(id, func(s *api.Service) { s.Terminating, s.Spec.Running = true, false })
	}
	e.eventually(30*time.Second, func() error {
		all, _, err := store.ListAll[api.Container](e.ctx, e.st, store.KindContainers)
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.Spec.Desired != api.ContainerTerminated {
				return fmt.Errorf("%s desired %s", c.Name, c.Spec.Desired)
			}
		}
		return nil
	})
	if err := e.st.Delete(e.ctx, store.KindNodes, "n00", 0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 20; i++ {
		e.putNode(fmt.Sprintf("n%02d", i), api.NodeUnreachable, execOnly, nil)
	}
	e.eventually(30*time.Second, func() error {
		svcs, _, err := store.ListAll[api.Service](e.ctx, e.st, store.KindServices)
		if err != nil {
			return err
		}
		all, _, err := store.ListAll[api.Container](e.ctx, e.st, store.KindContainers)
		if err != nil {
			return err
		}
		if len(svcs) != 0 || len(all) != 0 {
			return fmt.Errorf("%d services, %d containers left", len(svcs), len(all))
		}
		return nil
	})
}

// TestRelistConverges breaks the watch after every few batches with
// ErrCompacted: the controller must list again each time and still
// converge, with no duplicate slot, and be Running in the end.
func TestRelistConverges(t *testing.T) {
	var relists atomic.Int32
	e := newEnv(t, func(c *Services) {
		open := c.watch
		c.watch = func(ctx context.Context, rev int64) <-chan store.WatchBatch {
			relists.Add(1)
			in, out := open(ctx, rev), make(chan store.WatchBatch)
			go func() {
				defer close(out)
				for n := 1; ; n++ {
					var b store.WatchBatch
					var ok bool
					select {
					case b, ok = <-in:
					case <-ctx.Done():
						return
					}
					if !ok {
						return
					}
					if n%3 == 0 && relists.Load() < 20 {
						b = store.WatchBatch{Err: fmt.Errorf("injected: %w", store.ErrCompacted)}
					}
					select {
					case out <- b:
					case <-ctx.Done():
						return
					}
					if b.Err != nil {
						return
					}
				}
			}()
			return out
		}
	})
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	svc := e.createService("re", api.ServiceSpec{Command: []string{"x"}, Replicas: 5})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 5 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		for i, c := range cs {
			if c.Spec.Slot != i+1 || c.Spec.Node == "" {
				return fmt.Errorf("containers: %s", describe(cs))
			}
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 5)
	if cs := e.containers(svc.ID); len(cs) != 5 {
		t.Fatalf("containers: %s", describe(cs))
	}
	if relists.Load() < 2 {
		t.Fatalf("the watch was opened %d times", relists.Load())
	}
	e.eventually(10*time.Second, func() error {
		if !e.ctrl.Running() {
			return errors.New("not running")
		}
		return nil
	})
	t.Logf("watch opened %d times", relists.Load())
}
