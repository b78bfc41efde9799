package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// snapshot is every key of the test's store prefix with its mod revision.
func snapshot(t *testing.T, d *Domain) string {
	t.Helper()
	prefix := strings.TrimSuffix(d.st.Key("", ""), "/")
	res, err := d.st.Client().Get(context.Background(), prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range res.Kvs {
		fmt.Fprintf(&b, "%s@%d\n", kv.Key, kv.ModRevision)
	}
	return b.String()
}

func sleepSpec() api.ServiceSpec {
	return api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: 1}
}

func oneServiceStack() api.StackSpec {
	return api.StackSpec{Services: []api.StackService{{Name: "web", Spec: sleepSpec()}}}
}

// appsWrites calls every operation that needs Apps Write as a, on the
// service "web" and the stack "app", and returns each one's error by name.
func appsWrites(d *Domain, a Actor) map[string]error {
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["CreateService"] = d.CreateService(ctx, a, "other", sleepSpec())
	_, errs["ScaleService"] = d.ScaleService(ctx, a, "web", 2, 0)
	_, errs["UpdateService"] = d.UpdateService(ctx, a, "web", json.RawMessage(`{"env":{"A":"1"}}`), 0)
	_, errs["SetServiceRunning(false)"] = d.SetServiceRunning(ctx, a, "web", false, 0)
	_, errs["SetServiceRunning(true)"] = d.SetServiceRunning(ctx, a, "web", true, 0)
	_, errs["RedeployService"] = d.RedeployService(ctx, a, "web", 0)
	_, errs["DeployStack(dry run)"] = d.DeployStack(ctx, a, "app", oneServiceStack(), true)
	_, errs["DeployStack"] = d.DeployStack(ctx, a, "other", oneServiceStack(), false)
	_, errs["SetStackRunning(false)"] = d.SetStackRunning(ctx, a, "app", false)
	_, errs["SetStackRunning(true)"] = d.SetStackRunning(ctx, a, "app", true)
	_, errs["RedeployStack"] = d.RedeployStack(ctx, a, "app")
	_, errs["RemoveService"] = d.RemoveService(ctx, a, "web", 0)
	_, errs["RemoveStack"] = d.RemoveStack(ctx, a, "app")
	return errs
}

// setUpApps makes the service "web" and the stack "app" as admin.
func setUpApps(t *testing.T, d *Domain) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.CreateService(ctx, admin, "web", sleepSpec()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeployStack(ctx, admin, "app", oneServiceStack(), false); err != nil {
		t.Fatal(err)
	}
}

// TestAppsWritesRefuseReadOnly: a read-only actor (and the zero Actor) may
// change no service or stack, and a refused call writes nothing; it may
// still read them.
func TestAppsWritesRefuseReadOnly(t *testing.T) {
	d := newTestDomain(t)
	setUpApps(t, d)
	before := snapshot(t, d)
	for _, a := range []Actor{reader, {}} {
		for op, err := range appsWrites(d, a) {
			if !errors.Is(err, errdefs.ErrForbidden) {
				t.Errorf("%s as %q: %v, want forbidden", op, a.Role, err)
			}
		}
	}
	if after := snapshot(t, d); after != before {
		t.Fatalf("refused calls wrote the store:\nbefore\n%s\nafter\n%s", before, after)
	}
	ctx := context.Background()
	if _, err := d.GetService(ctx, reader, "web"); err != nil {
		t.Errorf("GetService: %v", err)
	}
	if _, err := d.ListServices(ctx, reader, "app", Page{}); err != nil {
		t.Errorf("ListServices: %v", err)
	}
	if _, err := d.ListServicesRaw(ctx, reader, Page{}); err != nil {
		t.Errorf("ListServicesRaw: %v", err)
	}
	if _, err := d.GetStack(ctx, reader, "app"); err != nil {
		t.Errorf("GetStack: %v", err)
	}
	if _, err := d.ListStacks(ctx, reader, Page{}); err != nil {
		t.Errorf("ListStacks: %v", err)
	}
}

// TestAppsWritesAcceptDeployer: a deploy token may do every one of them.
func TestAppsWritesAcceptDeployer(t *testing.T) {
	d := newTestDomain(t)
	setUpApps(t, d)
	for op, err := range appsWrites(d, deployer) {
		if err != nil {
			t.Errorf("%s as deployer: %v", op, err)
		}
	}
}

// TestCreateScaleRemoveService: the life of a service, with its events
// and audit note.
func TestCreateScaleRemoveService(t *testing.T) {
	d := newTestDomain(t)
	var note Note
	ctx := Noting(context.Background(), &note)
	svc, err := d.CreateService(ctx, admin, "web", sleepSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !svc.Spec.Running || svc.Status.State != api.ServiceNotRunning || note.Object != svc.ID || svc.Revision == 0 {
		t.Fatalf("created %+v, noted %q", svc, note.Object)
	}
	if _, err := d.CreateService(ctx, admin, "web", sleepSpec()); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), `a service named "web" already exists`) {
		t.Fatalf("second create: %v", err)
	}
	if _, err := d.CreateService(ctx, admin, "Web_1", sleepSpec()); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	if got, err := d.GetService(ctx, reader, "web"); err != nil || got.ID != svc.ID {
		t.Fatalf("get by name: %+v, %v", got, err)
	}
	if _, err := d.ScaleService(ctx, admin, "web", 10001, 0); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("scale to 10001: %v", err)
	}
	if _, err := d.ScaleService(ctx, admin, svc.ID, 3, svc.Revision+1); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("scale at a stale revision: %v", err)
	}
	scaled, err := d.ScaleService(ctx, admin, svc.ID, 3, svc.Revision)
	if err != nil || scaled.Spec.Replicas != 3 {
		t.Fatalf("scale: %+v, %v", scaled, err)
	}
	l, err := d.ListServices(ctx, reader, "", Page{})
	if err != nil || len(l.Items) != 1 || l.Items[0].Spec.Replicas != 3 {
		t.Fatalf("list: %+v, %v", l, err)
	}
	raw, err := d.ListServicesRaw(ctx, reader, Page{Limit: 1})
	if err != nil || len(raw.Items) != 1 || raw.Items[0].ID != svc.ID || raw.Next != "" {
		t.Fatalf("raw list: %+v, %v", raw, err)
	}
	gone, err := d.RemoveService(ctx, deployer, "web", 0)
	if err != nil || !gone.Terminating || gone.Spec.Running {
		t.Fatalf("remove: %+v, %v", gone, err)
	}
	if _, err := d.ScaleService(ctx, admin, "web", 1, 0); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("scale a service being removed: %v", err)
	}
	events, _, err := d.st.Events(ctx, store.EventCursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, ev := range events {
		msgs = append(msgs, ev.Message)
	}
	want := "service web created with 1 replicas|service web scaled from 1 to 3 replicas|service web removal requested"
	if got := strings.Join(msgs, "|"); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// TestUpdateService: a patch replaces the fields it names; a change to
// what the containers run is a rollout; "running" and non-objects are
// refused.
func TestUpdateService(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	svc, err := d.CreateService(ctx, admin, "web", sleepSpec())
	if err != nil {
		t.Fatal(err)
	}
	for patch, field := range map[string]string{``: "spec", `null`: "spec", `[1]`: "spec", `{"running":false}`: "spec.running", `{"replicas":-1}`: "spec.replicas", `{"nope":1}`: "spec"} {
		var fe *errdefs.FieldError
		if _, err := d.UpdateService(ctx, admin, "web", json.RawMessage(patch), 0); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("patch %q: %v, want an error on %s", patch, err, field)
		}
	}
	scaled, err := d.UpdateService(ctx, admin, "web", json.RawMessage(`{"replicas":2}`), svc.Revision)
	if err != nil || scaled.Spec.Replicas != 2 || scaled.RestartGeneration != svc.RestartGeneration || scaled.PreviousSpec != nil {
		t.Fatalf("replicas alone: %+v, %v", scaled, err)
	}
	rolled, err := d.UpdateService(ctx, admin, "web", json.RawMessage(`{"env":{"A":"1"}}`), 0)
	if err != nil || rolled.Spec.Env["A"] != "1" || rolled.RestartGeneration == svc.RestartGeneration || rolled.PreviousSpec == nil || rolled.Spec.Replicas != 2 {
		t.Fatalf("env change: %+v, %v", rolled, err)
	}
	same, err := d.UpdateService(ctx, admin, "web", json.RawMessage(`{"env":{"A":"1"}}`), 0)
	if err != nil || same.Revision != rolled.Revision {
		t.Fatalf("no change wrote: %+v, %v", same, err)
	}
}
