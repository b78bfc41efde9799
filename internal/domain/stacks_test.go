package domain

import (
	"context"
	"errors"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// TestDeployStopRedeployRemoveStack: the life of a stack.
func TestDeployStopRedeployRemoveStack(t *testing.T) {
	d := newTestDomain(t)
	var note Note
	ctx := Noting(context.Background(), &note)
	spec := oneServiceStack()
	db := sleepSpec()
	spec.Services = append(spec.Services, api.StackService{Name: "db", Spec: db})

	before := snapshot(t, d)
	dry, err := d.DeployStack(ctx, deployer, "app", spec, true)
	if err != nil || !dry.DryRun || !dry.Created || len(dry.Plan) != 2 || dry.Plan[0].Action != api.PlanCreate {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if after := snapshot(t, d); after != before {
		t.Fatal("a dry run wrote the store")
	}
	res, err := d.DeployStack(ctx, deployer, "app", spec, false)
	if err != nil || !res.Created || res.DryRun || res.Stack.ID == "" || note.Object != res.Stack.ID || res.Stack.Status.Services != 2 {
		t.Fatalf("deploy: %+v, noted %q, %v", res, note.Object, err)
	}
	again, err := d.DeployStack(ctx, deployer, "app", spec, false)
	if err != nil || again.Created || again.Plan[0].Action != api.PlanUnchanged {
		t.Fatalf("deploy again: %+v, %v", again, err)
	}
	if _, err := d.DeployStack(ctx, deployer, "Bad_Name", spec, false); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}

	svcs, err := d.ListServices(ctx, reader, "app", Page{})
	if err != nil || len(svcs.Items) != 2 {
		t.Fatalf("services of the stack: %+v, %v", svcs, err)
	}
	if _, err := d.ListServices(ctx, reader, "nope", Page{}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("services of no stack: %v", err)
	}
	if st, err := d.GetStack(ctx, reader, res.Stack.ID); err != nil || st.Name != "app" || st.Status.Services != 2 {
		t.Fatalf("get: %+v, %v", st, err)
	}
	if l, err := d.ListStacks(ctx, reader, Page{}); err != nil || len(l.Items) != 1 || l.Items[0].Status.Services != 2 {
		t.Fatalf("list: %+v, %v", l, err)
	}

	if _, err := d.SetStackRunning(ctx, deployer, "app", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RedeployStack(ctx, deployer, "app"); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("redeploy a stopped stack: %v", err)
	}
	if _, err := d.SetStackRunning(ctx, deployer, "app", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RedeployStack(ctx, deployer, "app"); err != nil {
		t.Fatal(err)
	}
	for _, svc := range mustServices(t, d, "app") {
		if !svc.Spec.Running || svc.RestartGeneration == 0 {
			t.Errorf("after start and redeploy: %s running %v, generation %d", svc.Name, svc.Spec.Running, svc.RestartGeneration)
		}
	}

	gone, err := d.RemoveStack(ctx, deployer, "app")
	if err != nil || !gone.Terminating {
		t.Fatalf("remove: %+v, %v", gone, err)
	}
	if _, err := d.GetStack(ctx, reader, "app"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get a removed stack: %v", err)
	}
	all, err := d.ListServices(ctx, reader, "", Page{})
	if err != nil || len(all.Items) != 2 {
		t.Fatalf("services after: %+v, %v", all, err)
	}
	for _, svc := range all.Items {
		if !svc.Terminating {
			t.Errorf("service %s of a removed stack is not being removed", svc.Name)
		}
	}
}

func mustServices(t *testing.T, d *Domain, stack string) []api.Service {
	t.Helper()
	l, err := d.ListServices(context.Background(), admin, stack, Page{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}
