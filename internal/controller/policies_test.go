package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func TestNodeLossReplacesAfterGrace(t *testing.T) {
	e := newEnv(t, func(c *Services) { WithNodeLossGrace(500 * time.Millisecond)(c) })
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	svc := e.createService("web", api.ServiceSpec{Command: []string{"x"}, Replicas: 2, Strategy: api.StrategyHighAvailability,
		Autorestart: api.PolicyOnFailure, StopAfterDisconnect: 7})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Spec.Node == "" || cs[1].Spec.Node == "" || cs[0].Spec.Node == cs[1].Spec.Node {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	cs := e.containers(svc.ID)
	if cs[0].Spec.Autorestart != api.PolicyOnFailure || cs[0].Spec.StopAfterDisconnect != 7 {
		t.Fatalf("policies not copied: %+v", cs[0].Spec)
	}
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 2)
	lostSlot := 1
	if cs[1].Spec.Node == "n1" {
		lostSlot = 2
	}
	e.putNode("n1", api.NodeUnreachable, execOnly, nil)
	down := time.Now()
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 3 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Node == "n1" && c.Spec.Desired != api.ContainerTerminated {
				return fmt.Errorf("containers: %s", describe(cs))
			}
			if c.Spec.Node != "n1" && (c.Spec.Node != "n2" || c.Spec.Desired != api.ContainerRunning) {
				return fmt.Errorf("containers: %s", describe(cs))
			}
		}
		return nil
	})
	if d := time.Since(down); d < 500*time.Millisecond {
		t.Fatalf("replaced after %v, before the grace", d)
	}
	e.setAll(svc.ID, api.ContainerRunning, func(c *api.Container) bool { return c.Spec.Node == "n2" })
	e.waitState(svc.ID, api.ServiceRunning, 2)
	// Healed: the old copy is still desired Terminated, deleted once its
	// agent confirms.
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	time.Sleep(200 * time.Millisecond)
	var old *api.Container
	for _, c := range e.containers(svc.ID) {
		if c.Spec.Node == "n1" {
			old = c
		}
	}
	if old == nil || old.Spec.Slot != lostSlot || old.Spec.Desired != api.ContainerTerminated {
		t.Fatalf("old copy: %s", describe(e.containers(svc.ID)))
	}
	e.setStatus(old.ID, api.ContainerTerminated)
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(svc.ID); len(cs) != 2 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
}

func TestAutodestroyAndRestartGeneration(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("job", api.ServiceSpec{Command: []string{"x"}, Replicas: 2, Autodestroy: api.PolicyAlways})
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(svc.ID); len(cs) != 2 || cs[1].Spec.Node == "" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 2)
	// Slot 1 exits: it is terminated and its slot left empty.
	one := e.containers(svc.ID)[0]
	var c api.Container
	if err := e.st.Modify(e.ctx, store.KindContainers, one.ID, &c, func() ([]api.Event, error) {
		code := 1
		c.Status.State, c.Status.ExitCode = api.ContainerStopped, &code
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || !cs[0].Spec.Destroyed || cs[0].Spec.Desired != api.ContainerTerminated {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setStatus(one.ID, api.ContainerTerminated)
	e.waitState(svc.ID, api.ServiceRunning, 1)
	if cs := e.containers(svc.ID); len(cs) != 2 || cs[0].ID != one.ID {
		t.Fatalf("slot 1 filled again: %s", describe(cs))
	}
	// A restart runs slot 1 again and replaces slot 2, stop first.
	e.modifyService(svc.ID, func(s *api.Service) { s.RestartGeneration = 1 })
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].ID == one.ID || cs[0].Spec.Generation != 1 || cs[1].Spec.Desired != api.ContainerRunning {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceRedeploying, 1)
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[1].Spec.Desired != api.ContainerTerminated {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setStatus(e.containers(svc.ID)[1].ID, api.ContainerTerminated)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[1].Spec.Generation != 1 || cs[1].Spec.Node != "n1" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 2)
}

// TestStandaloneRescheduleOnlyWhenAsked: a standalone service's container
// is named as the service and takes its ID; when its node is lost, only
// the one with reschedule:on-node-failure runs again elsewhere, as in
// Swarm classic.
func TestStandaloneRescheduleOnlyWhenAsked(t *testing.T) {
	e := newEnv(t, func(c *Services) { WithNodeLossGrace(300 * time.Millisecond)(c) })
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	stay := e.createService("stay", api.ServiceSpec{Command: []string{"x"}, Replicas: 1, Standalone: true})
	move := e.createService("move", api.ServiceSpec{Command: []string{"x"}, Replicas: 1, Standalone: true, Reschedule: api.RescheduleOnNodeFailure})
	e.eventually(10*time.Second, func() error {
		for _, svc := range []*api.Service{stay, move} {
			cs := e.containers(svc.ID)
			if len(cs) != 1 || cs[0].Spec.Node != "n1" || cs[0].ID != svc.ID || cs[0].Name != svc.Name {
				return fmt.Errorf("%s: %s", svc.Name, describe(cs))
			}
		}
		return nil
	})
	e.setAll(stay.ID, api.ContainerRunning, nil)
	e.setAll(move.ID, api.ContainerRunning, nil)
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	e.putNode("n1", api.NodeUnreachable, execOnly, nil)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(move.ID)
		for _, c := range cs {
			if c.Spec.Node == "n2" && c.Spec.Desired == api.ContainerRunning {
				return nil
			}
		}
		return fmt.Errorf("move: %s", describe(cs))
	})
	// The same passes saw stay's node down: it was left where it is.
	cs := e.containers(stay.ID)
	if len(cs) != 1 || cs[0].Spec.Node != "n1" || cs[0].Spec.Desired != api.ContainerRunning {
		t.Errorf("stay (no reschedule policy) was moved: %s", describe(cs))
	}
}
