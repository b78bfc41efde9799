package controller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/store"
)

// setAvailability writes node id's availability as the domain does.
func (e *env) setAvailability(id string, to api.NodeAvailability) {
	e.t.Helper()
	var n api.Node
	if err := e.st.Modify(e.ctx, store.KindNodes, id, &n, func() ([]api.Event, error) {
		ev, _, err := lifecycle.SetAvailability(&n, to, "test")
		return []api.Event{ev}, err
	}); err != nil {
		e.t.Fatal(err)
	}
}

// live is where the service's containers that are not to end run: node
// names, sorted.
func (e *env) live(serviceID string) []string {
	var out []string
	for _, c := range e.containers(serviceID) {
		if c.Spec.Desired != api.ContainerTerminated {
			out = append(out, c.Spec.Node)
		}
	}
	slices.Sort(out)
	return out
}

func (e *env) wantLive(serviceID string, want ...string) {
	e.t.Helper()
	e.eventually(10*time.Second, func() error {
		if got := e.live(serviceID); !slices.Equal(got, want) {
			return fmt.Errorf("live containers on %v, want %v: %s", got, want, describe(e.containers(serviceID)))
		}
		return nil
	})
}

// A node of availability drain keeps its place in the cluster but takes
// nothing new: a service's containers start on another node before the
// old ones stop, its EVERY_NODE containers end, a standalone container
// without reschedule:on-node-failure stays, and once it is active again
// nothing moves back on its own, but new containers may go there.
func TestDrainAvailability(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	web := e.createService("web", api.ServiceSpec{Command: []string{"sleep", "1000"}, Replicas: 2})
	agent := e.createService("agent", api.ServiceSpec{Command: []string{"sleep", "1000"}, Strategy: api.StrategyEveryNode})
	solo := e.createService("solo", api.ServiceSpec{Command: []string{"sleep", "1000"}, Replicas: 1, Standalone: true})
	e.wantLive(web.ID, "n1", "n1")
	e.wantLive(agent.ID, "n1")
	e.wantLive(solo.ID, "n1")
	for _, s := range []*api.Service{web, agent, solo} {
		e.setAll(s.ID, api.ContainerRunning, nil)
	}
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	e.wantLive(agent.ID, "n1", "n2")

	e.setAvailability("n1", api.AvailabilityDrain)
	// The replacements are placed on n2; the old ones stay desired Running
	// until they run.
	e.wantLive(web.ID, "n1", "n1", "n2", "n2")
	e.eventually(10*time.Second, func() error {
		var n api.Node
		if err := e.st.Get(e.ctx, store.KindNodes, "n1", &n); err != nil {
			return err
		}
		if n.DrainWaiting == "" {
			return fmt.Errorf("n1 drain_waiting empty while web moves")
		}
		return nil
	})
	e.setAll(web.ID, api.ContainerRunning, func(c *api.Container) bool { return c.Spec.Node == "n2" })
	e.wantLive(web.ID, "n2", "n2")
	e.wantLive(agent.ID, "n2")
	e.wantLive(solo.ID, "n1") // docker run's container stays, as on a Swarm node
	var n api.Node
	if err := e.st.Get(e.ctx, store.KindNodes, "n1", &n); err != nil || n.State != api.NodeDeployed || n.Availability != api.AvailabilityDrain {
		t.Fatalf("drained node n1: %v, %s/%s; want kept, Deployed, drain", err, n.State, n.Availability)
	}
	// Nothing new goes to n1: a scale-up and a new service land on n2.
	e.modifyService(web.ID, func(s *api.Service) { s.Spec.Replicas = 3 })
	late := e.createService("late", api.ServiceSpec{Command: []string{"sleep", "1000"}, Replicas: 2})
	e.wantLive(web.ID, "n2", "n2", "n2")
	e.wantLive(late.ID, "n2", "n2")

	// Active again: nothing moves back, the EVERY_NODE service runs there
	// again, and new containers may go there (it is the emptiest).
	e.setAvailability("n1", api.AvailabilityActive)
	e.wantLive(agent.ID, "n1", "n2")
	e.modifyService(late.ID, func(s *api.Service) { s.Spec.Replicas = 3 })
	e.wantLive(late.ID, "n1", "n2", "n2")
	e.wantLive(web.ID, "n2", "n2", "n2")
}

// A paused node takes nothing new but keeps what it runs, EVERY_NODE
// containers included.
func TestPauseAvailability(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	web := e.createService("web", api.ServiceSpec{Command: []string{"sleep", "1000"}, Replicas: 1})
	agent := e.createService("agent", api.ServiceSpec{Command: []string{"sleep", "1000"}, Strategy: api.StrategyEveryNode})
	e.wantLive(web.ID, "n1")
	e.wantLive(agent.ID, "n1")
	e.setAll(web.ID, api.ContainerRunning, nil)
	e.setAll(agent.ID, api.ContainerRunning, nil)

	e.setAvailability("n1", api.AvailabilityPause)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	e.wantLive(agent.ID, "n1", "n2")
	e.modifyService(web.ID, func(s *api.Service) { s.Spec.Replicas = 3 })
	e.wantLive(web.ID, "n1", "n2", "n2")
	// A pass later, nothing on n1 has moved.
	time.Sleep(200 * time.Millisecond)
	if got := e.live(web.ID); !slices.Equal(got, []string{"n1", "n2", "n2"}) {
		t.Errorf("web on %v after pause, want n1 kept", got)
	}
	if got := e.live(agent.ID); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("agent on %v after pause, want n1 kept", got)
	}
}

// TestDrainOnTheOverlayStopsFirst: a container that holds an overlay
// address (its node runs the overlay) leaves a draining node stop-first,
// as a start-first rollout does there: no replacement runs beside it, and
// once it is gone its slot starts on another node.
func TestDrainOnTheOverlayStopsFirst(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	var n api.Node
	if err := e.st.Modify(e.ctx, store.KindNodes, "n1", &n, func() ([]api.Event, error) {
		n.OverlayAddress = "192.0.2.1"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	svc := e.createService("web", api.ServiceSpec{Command: []string{"x"}, Replicas: 1, Update: api.UpdateConfig{Order: api.OrderStartFirst}})
	e.wantLive(svc.ID, "n1")
	e.setAll(svc.ID, api.ContainerRunning, nil)
	old := e.containers(svc.ID)[0]
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	e.setAvailability("n1", api.AvailabilityDrain)
	e.eventually(5*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) > 1 {
			t.Fatalf("a replacement beside the old container on the overlay: %s", describe(cs))
		}
		if len(cs) == 1 && cs[0].ID == old.ID && cs[0].Spec.Desired == api.ContainerTerminated {
			return nil
		}
		return fmt.Errorf("containers: %s", describe(cs))
	})
	time.Sleep(300 * time.Millisecond)
	if cs := e.containers(svc.ID); len(cs) != 1 {
		t.Fatalf("a replacement before the old container ended: %s", describe(cs))
	}
	// Its agent confirms the stop: the slot starts on n2.
	e.setStatus(old.ID, api.ContainerTerminated)
	e.wantLive(svc.ID, "n2")
}
