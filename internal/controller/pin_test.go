package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestContainersRunThePinnedImage: new containers run the service's
// pinned image (ResolvedImage, when it pins Spec.Image) with its pull
// policy; a pin of another image is ignored; a rollback swaps the pins
// with the specs.
func TestContainersRunThePinnedImage(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, []string{"docker"}, nil)
	const image = "reg.example/web:1"
	const pinned = image + "@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	svc := e.createServiceWith("web", api.ServiceSpec{Image: image, PullPolicy: api.PullAlways, Replicas: 2}, pinned)
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 {
			return fmt.Errorf("%d containers", len(cs))
		}
		for _, c := range cs {
			if c.Spec.Image != pinned || c.Spec.PullPolicy != api.PullAlways {
				return fmt.Errorf("container %s runs %q policy %q", c.Name, c.Spec.Image, c.Spec.PullPolicy)
			}
		}
		return nil
	})
	// A stale pin (of another image) is not used.
	stale := &api.Service{Spec: api.ServiceSpec{Image: "reg.example/web:2"}, ResolvedImage: pinned}
	if got := stale.RunImage(); got != "reg.example/web:2" {
		t.Errorf("RunImage with a stale pin: %q", got)
	}
	// A rollback swaps the pins with the specs.
	prev := api.ServiceSpec{Image: image}
	cur := &api.Service{Spec: api.ServiceSpec{Image: "reg.example/web:2"}, PreviousSpec: &prev,
		ResolvedImage: "reg.example/web:2@sha256:2222", PreviousResolvedImage: pinned}
	rb := rolledBack(cur, "failed")
	if rb.RunImage() != pinned || rb.PreviousResolvedImage != "reg.example/web:2@sha256:2222" {
		t.Errorf("rolled back: runs %q, previous pin %q", rb.RunImage(), rb.PreviousResolvedImage)
	}
}

// createServiceWith is createService with a pinned image, written with
// the service so that no container is made before the pin.
func (e *env) createServiceWith(name string, spec api.ServiceSpec, resolved string) *api.Service {
	e.t.Helper()
	spec.Running = true
	s := &api.Service{Meta: api.Meta{ID: randomID(), Name: name}, Spec: spec, Status: api.ServiceStatus{State: api.ServiceNotRunning}, ResolvedImage: resolved}
	t := e.st.Txn()
	t.Create(store.KindServices, s)
	t.Create(store.KindNames, &nameIdx{Meta: api.Meta{ID: "services." + name}, Target: s.ID})
	if err := t.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return s
}
