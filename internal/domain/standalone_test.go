package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

func standaloneSpec() api.ServiceSpec {
	return api.ServiceSpec{Image: "img", PullPolicy: api.PullNever, Replicas: 1, Standalone: true}
}

// TestStandaloneService: a standalone service starts stopped unless asked,
// has one replica, cannot be scaled, and only it has a reschedule policy.
func TestStandaloneService(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	svc, err := d.CreateService(ctx, admin, "web", standaloneSpec())
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Running {
		t.Error("a standalone service was created running; docker create makes it stopped")
	}
	if _, err := d.ScaleService(ctx, admin, "web", 2, 0); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("scale: %v, want a conflict", err)
	}
	for label, tc := range map[string]struct {
		tweak func(*api.ServiceSpec)
		want  string
	}{
		"two replicas":    {func(s *api.ServiceSpec) { s.Replicas = 2 }, "exactly 1 replica"},
		"every node":      {func(s *api.ServiceSpec) { s.Strategy = api.StrategyEveryNode }, "EVERY_NODE"},
		"bad reschedule":  {func(s *api.ServiceSpec) { s.Reschedule = "never" }, "unknown reschedule policy"},
		"not standalone":  {func(s *api.ServiceSpec) { s.Standalone = false; s.Reschedule = api.RescheduleOnNodeFailure }, "only a standalone"},
		"bad constraint":  {func(s *api.ServiceSpec) { s.Constraints = []string{"zone=x"} }, "constraint"},
		"bad affinity":    {func(s *api.ServiceSpec) { s.Affinities = []string{"label==x"} }, "unknown key"},
		"name with upper": {nil, "must match"},
	} {
		spec, name := standaloneSpec(), "other"
		if tc.tweak != nil {
			tc.tweak(&spec)
		} else {
			name = "Other"
		}
		if _, err := d.CreateService(ctx, admin, name, spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", label, err, tc.want)
		}
	}
}

// TestRenameService: the name index moves with the name, a standalone
// service's container is renamed with it, a taken name is a conflict, and
// a read-only actor may not rename.
func TestRenameService(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	svc, err := d.CreateService(ctx, admin, "web", standaloneSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateService(ctx, admin, "db", standaloneSpec()); err != nil {
		t.Fatal(err)
	}
	ct := api.Container{Meta: api.Meta{ID: svc.ID, Name: "web"}, Spec: api.ContainerSpec{Service: svc.ID, Slot: 1}}
	if err := d.st.Create(ctx, store.KindContainers, &ct); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RenameService(ctx, reader, "web", "front"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a read-only actor: %v, want forbidden", err)
	}
	if _, err := d.RenameService(ctx, admin, "web", "db"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("a taken name: %v, want a conflict", err)
	}
	if _, err := d.RenameService(ctx, admin, "web", "Bad_Name"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a bad name: %v, want invalid", err)
	}
	if _, err := d.RenameService(ctx, admin, "web", "front"); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetService(ctx, admin, "front")
	if err != nil || got.ID != svc.ID {
		t.Fatalf("GetService(front): %v, %v", got, err)
	}
	if _, err := d.GetService(ctx, admin, "web"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("the old name still resolves: %v", err)
	}
	if c, err := d.GetContainer(ctx, admin, svc.ID); err != nil || c.Name != "front" {
		t.Errorf("the container: %+v, %v; want it named front", c, err)
	}
	// The old name is free again.
	if _, err := d.CreateService(ctx, admin, "web", standaloneSpec()); err != nil {
		t.Errorf("create with the freed name: %v", err)
	}
}

// TestCheckPlacement: a constraint some node meets passes; one none meets,
// or an organization without nodes, is a conflict with the reason.
func TestCheckPlacement(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	if err := d.CheckPlacement(ctx, admin, standaloneSpec()); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "no node") {
		t.Errorf("no nodes: %v", err)
	}
	for _, n := range []*api.Node{
		{Meta: api.Meta{ID: "n1", Name: "n1"}, State: api.NodeDeployed, Drivers: []string{"docker"}, Labels: map[string]string{"zone": "internal"}},
		{Meta: api.Meta{ID: "n2", Name: "n2"}, State: api.NodeDeployed, Drivers: []string{"docker"}, Labels: map[string]string{"zone": "external"}},
		{Meta: api.Meta{ID: "n3", Name: "n3", Org: "acme"}, State: api.NodeDeployed, Drivers: []string{"docker"}, Labels: map[string]string{"zone": "mars"}},
	} {
		if err := d.st.Create(ctx, store.KindNodes, n); err != nil {
			t.Fatal(err)
		}
	}
	spec := standaloneSpec()
	spec.Constraints = []string{"zone==external"}
	if err := d.CheckPlacement(ctx, admin, spec); err != nil {
		t.Errorf("zone==external: %v", err)
	}
	spec.Constraints = []string{"zone==mars"} // another organization's node
	err := d.CheckPlacement(ctx, admin, spec)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "unable to find a node that satisfies") {
		t.Errorf("zone==mars: %v", err)
	}
}
