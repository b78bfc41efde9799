package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestLabelChangeBreaksConstraint: when a node's labels change so that it
// no longer meets a running container's hard constraint, a replicated
// service's container moves to a node that meets it, and an EVERY_NODE
// service's container on it goes; both events say why.
func TestLabelChangeBreaksConstraint(t *testing.T) {
	e := newEnv(t)
	fake := []string{"fake"}
	e.putNode("n1", api.NodeDeployed, fake, map[string]string{"storage": "ssd"})
	db := e.createService("db", api.ServiceSpec{Command: []string{"x"}, Driver: "fake", Replicas: 1, Constraints: []string{"storage==ssd"}})
	every := e.createService("agent", api.ServiceSpec{Command: []string{"x"}, Driver: "fake", Strategy: api.StrategyEveryNode, Constraints: []string{"storage==ssd"}})
	for _, id := range []string{db.ID, every.ID} {
		e.eventually(10*time.Second, func() error {
			if cs := e.containers(id); len(cs) != 1 || cs[0].Spec.Node != "n1" {
				return fmt.Errorf("containers: %s", describe(e.containers(id)))
			}
			return nil
		})
		e.setAll(id, api.ContainerRunning, nil)
	}
	e.putNode("n2", api.NodeDeployed, fake, map[string]string{"storage": "ssd"})
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(every.ID); len(cs) != 2 {
			return fmt.Errorf("EVERY_NODE containers: %s", describe(cs))
		}
		return nil
	})
	e.setAll(every.ID, api.ContainerRunning, nil)

	e.putNode("n1", api.NodeDeployed, fake, map[string]string{"storage": "hdd"})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(db.ID)
		moved := len(cs) == 2 && strings.Contains(describe(cs), "node=n1 desired=Terminated") && strings.Contains(describe(cs), "node=n2 desired=Running")
		if !moved {
			return fmt.Errorf("db containers: %s", describe(cs))
		}
		cs = e.containers(every.ID)
		if !strings.Contains(describe(cs), "node=n1 desired=Terminated") {
			return fmt.Errorf("EVERY_NODE containers: %s", describe(cs))
		}
		return nil
	})
	evs, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"node host-n1 (n1) fails storage==ssd (its labels changed): slot replaced on a node that meets the service's constraints": false,
		"desired Terminated: node host-n1 (n1) fails storage==ssd: no longer runs this EVERY_NODE service":                        false,
	}
	for _, ev := range evs {
		if _, ok := want[ev.Message]; ok && ev.Kind == "container" {
			want[ev.Message] = true
		}
	}
	for msg, seen := range want {
		if !seen {
			t.Errorf("no container event %q", msg)
		}
	}
}

// TestCreatedAndPlacedIsOneEvent: a container placed as it is created
// gets one "created" event that names its node (one key and lease entry
// per placement, not two); a container moved later gets "placed".
func TestCreatedAndPlacedIsOneEvent(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, []string{"fake"}, nil)
	svc := e.createService("web", api.ServiceSpec{Command: []string{"x"}, Driver: "fake", Replicas: 2})
	e.eventually(10*time.Second, func() error {
		if cs := e.containers(svc.ID); len(cs) != 2 || cs[0].Spec.Node != "n1" || cs[1].Spec.Node != "n1" {
			return fmt.Errorf("containers: %s", describe(cs))
		}
		return nil
	})
	evs, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]string{}
	for _, ev := range evs {
		if ev.Kind != "container" {
			continue
		}
		switch ev.Type {
		case "created":
			created[ev.Object] = ev.Message
		case "placed":
			t.Errorf("a separate placed event for %s: %q", ev.Name, ev.Message)
		}
	}
	if len(created) != 2 {
		t.Fatalf("%d created events, want 2: %v", len(created), created)
	}
	for id, msg := range created {
		if !strings.HasPrefix(msg, "placed on node host-n1") {
			t.Errorf("container %s created with message %q, want it to say where it was placed", id, msg)
		}
	}
}
