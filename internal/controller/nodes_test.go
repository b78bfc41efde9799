package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// A Terminating node is drained: each slot first runs on another node, then
// the old container goes, then the node is deleted.
func TestDrainTerminatingNode(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	svc := e.createService("web", api.ServiceSpec{Command: []string{"sleep", "1000"}, Replicas: 2})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Spec.Node != "n1" || cs[1].Spec.Node != "n1" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, nil)
	old := e.containers(svc.ID)

	// n1 drains; n2 joins. Replacements are placed on n2, while the old
	// containers stay desired Running.
	e.putNode("n2", api.NodeDeployed, execOnly, nil)
	e.putNode("n1", api.NodeTerminating, execOnly, nil)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 4 {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Node == "n1" && c.Spec.Desired != api.ContainerRunning {
				return fmt.Errorf("old container terminated before its replacement runs: %s", describe(cs))
			}
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	for _, o := range old {
		var c api.Container
		if err := e.st.Get(e.ctx, store.KindContainers, o.ID, &c); err != nil || c.Spec.Desired != api.ContainerRunning {
			t.Fatalf("old %s before replacements run: %v %+v", o.Name, err, c.Spec)
		}
	}
	// The replacements run: the old containers go, then the node.
	e.setAll(svc.ID, api.ContainerRunning, func(c *api.Container) bool { return c.Spec.Node == "n2" })
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 || cs[0].Spec.Node != "n2" || cs[1].Spec.Node != "n2" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		var n api.Node
		if err := e.st.Get(e.ctx, store.KindNodes, "n1", &n); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("node n1 still there (%s): %v", n.State, err)
		}
		return nil
	})
	e.waitState(svc.ID, api.ServiceRunning, 2)
	evs, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.Kind == "node" && ev.Object == "n1" && ev.Type == "deleted" && ev.State == string(api.NodeTerminated) {
			found = true
		}
	}
	if !found {
		t.Error("no Terminated event for the drained node")
	}
}

// A Terminating node without containers is deleted even with no service at
// all.
func TestDrainEmptyNode(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	e.putNode("n1", api.NodeTerminating, execOnly, nil)
	e.eventually(10*time.Second, func() error {
		var n api.Node
		if err := e.st.Get(e.ctx, store.KindNodes, "n1", &n); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("node n1 still there (%s): %v", n.State, err)
		}
		return nil
	})
}
