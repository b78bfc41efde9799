package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

// TestNetworkLife: a network is created with its gateway and a VNI of
// its own, listed after the default network (which the list makes),
// inspected by name and ID with its address count, and removed.
func TestNetworkLife(t *testing.T) {
	d := newTestDomain(t)
	var note Note
	ctx := Noting(context.Background(), &note)
	n, err := d.CreateNetwork(ctx, deployer, api.NetworkCreate{Name: "backend", Subnet: "10.8.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "default.backend" || n.Gateway != "10.8.0.1" || n.VNI < netalloc.FirstVNI || n.Default || note.Object != n.ID {
		t.Fatalf("created %+v, noted %q", n, note.Object)
	}
	l, err := d.ListNetworks(ctx, reader)
	if err != nil || len(l.Items) != 2 || l.Items[0].Name != api.DefaultNetworkName || !l.Items[0].Default ||
		l.Items[0].Subnet != api.DefaultSubnet || l.Items[1].Name != "backend" || l.Items[0].VNI == n.VNI {
		t.Fatalf("list: %+v %v", l, err)
	}
	// One address held on it.
	rec := api.AddressRecord{Meta: api.Meta{ID: n.ID + ".10.8.0.2"}, Network: n.ID, Address: "10.8.0.2", Service: "svc-x", Slot: 1}
	if err := d.st.Create(ctx, store.KindAddresses, &rec); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"backend", n.ID} {
		got, err := d.InspectNetwork(ctx, reader, ref)
		if err != nil || got.ID != n.ID || got.Addresses != 1 {
			t.Errorf("inspect %s: %+v %v", ref, got, err)
		}
	}
	if err := d.RemoveNetwork(ctx, deployer, "backend"); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "1 addresses") {
		t.Errorf("remove with an address held: %v", err)
	}
	if err := d.st.Delete(ctx, store.KindAddresses, rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveNetwork(ctx, deployer, "backend"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.InspectNetwork(ctx, reader, "backend"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("inspect after remove: %v", err)
	}
	// Its VNI is free again: the next network may take it.
	again, err := d.CreateNetwork(ctx, deployer, api.NetworkCreate{Name: "again", Subnet: "10.8.0.0/16"})
	if err != nil || again.VNI != n.VNI {
		t.Errorf("a network after the removal: %+v %v, want VNI %d", again, err, n.VNI)
	}
}

// TestNetworkCreateRefused: bad and reserved names, bad subnets, an
// overlap (named), a name taken, and a read-only actor.
func TestNetworkCreateRefused(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	if _, err := d.CreateNetwork(ctx, deployer, api.NetworkCreate{Name: "front", Subnet: "10.20.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  api.NetworkCreate
		kind error
		say  string
	}{
		{api.NetworkCreate{Name: "default", Subnet: "10.30.0.0/16"}, errdefs.ErrInvalid, "default network"},
		{api.NetworkCreate{Name: "Back_End", Subnet: "10.30.0.0/16"}, errdefs.ErrInvalid, "must match"},
		{api.NetworkCreate{Name: "a.b", Subnet: "10.30.0.0/16"}, errdefs.ErrInvalid, "must match"},
		{api.NetworkCreate{Name: "back"}, errdefs.ErrInvalid, "--subnet"},
		{api.NetworkCreate{Name: "back", Subnet: "10.30.0.1/16"}, errdefs.ErrInvalid, "host bits"},
		{api.NetworkCreate{Name: "back", Subnet: "10.20.5.0/24"}, errdefs.ErrConflict, `network "front" (10.20.0.0/16)`},
		{api.NetworkCreate{Name: "back", Subnet: "10.0.0.0/8"}, errdefs.ErrConflict, "overlaps network"},
		{api.NetworkCreate{Name: "back", Subnet: "10.7.3.0/24"}, errdefs.ErrConflict, `network "default" (10.7.0.0/16)`},
		{api.NetworkCreate{Name: "front", Subnet: "10.40.0.0/16"}, errdefs.ErrConflict, "already exists"},
	} {
		_, err := d.CreateNetwork(ctx, deployer, c.req)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("create %+v: %v, want %v saying %q", c.req, err, c.kind, c.say)
		}
	}
	if _, err := d.CreateNetwork(ctx, reader, api.NetworkCreate{Name: "ro", Subnet: "10.50.0.0/16"}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a read-only actor creates: %v", err)
	}
	if err := d.RemoveNetwork(ctx, reader, "front"); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a read-only actor removes: %v", err)
	}
	// Another organization may use the same name and subnet, with a VNI
	// of its own.
	other, err := d.CreateNetwork(ctx, orgAdmin("acme"), api.NetworkCreate{Name: "front", Subnet: "10.20.0.0/16"})
	front, _ := d.InspectNetwork(ctx, reader, "front")
	if err != nil || other.ID != "acme.front" || front == nil || other.VNI == front.VNI {
		t.Errorf("acme's front: %+v %v (default's %+v)", other, err, front)
	}
}

// TestNetworkRemoveRefused: the default network, and a network a service
// joins (the services named).
func TestNetworkRemoveRefused(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	if _, err := d.CreateNetwork(ctx, deployer, api.NetworkCreate{Name: "back", Subnet: "10.9.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	spec := sleepSpec()
	spec.Networks = []string{"default", "back"}
	if _, err := d.CreateService(ctx, deployer, "api", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateService(ctx, deployer, "worker", spec); err != nil {
		t.Fatal(err)
	}
	err := d.RemoveNetwork(ctx, deployer, "back")
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "api, worker") {
		t.Errorf("remove a network in use: %v", err)
	}
	if _, err := d.ListNetworks(ctx, reader); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"default", "default.default"} {
		if err := d.RemoveNetwork(ctx, deployer, ref); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "cannot be removed") {
			t.Errorf("remove %s: %v", ref, err)
		}
	}
}

// TestNetworkOtherOrgNotFound: another organization's network is not
// found, by name or ID, exactly like a missing one.
func TestNetworkOtherOrgNotFound(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	a, b := orgAdmin("a"), orgAdmin("b")
	n, err := d.CreateNetwork(ctx, a, api.NetworkCreate{Name: "secret-net", Subnet: "10.9.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"secret-net", n.ID} {
		_, err := d.InspectNetwork(ctx, b, ref)
		wantNotFound(t, "network", ref, err)
		wantNotFound(t, "network", ref, d.RemoveNetwork(ctx, b, ref))
	}
	l, err := d.ListNetworks(ctx, b)
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != "b.default" {
		t.Errorf("b's networks: %+v %v", l, err)
	}
	// b's service cannot join a's network.
	spec := sleepSpec()
	spec.Networks = []string{"secret-net"}
	if _, err := d.CreateService(ctx, b, "web", spec); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("b joins a's network: %v", err)
	}
}

// TestServiceNetworksMustExist: a service may join only networks its
// organization has ("default" always); the error names the network and
// how to make it; an update checks the networks it adds.
func TestServiceNetworksMustExist(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	spec := sleepSpec()
	spec.Networks = []string{"default", "nope"}
	_, err := d.CreateService(ctx, deployer, "web", spec)
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), `spec.networks[1]: network "nope" does not exist`) ||
		!strings.Contains(err.Error(), "wharf network create nope --subnet") {
		t.Fatalf("a missing network: %v", err)
	}
	spec.Networks = []string{"default"}
	if _, err := d.CreateService(ctx, deployer, "web", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UpdateService(ctx, deployer, "web", []byte(`{"networks":["default","nope"]}`), 0); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("an update to a missing network: %v", err)
	}
	if _, err := d.CreateNetwork(ctx, deployer, api.NetworkCreate{Name: "nope", Subnet: "10.9.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UpdateService(ctx, deployer, "web", []byte(`{"networks":["default","nope"]}`), 0); err != nil {
		t.Errorf("an update to an existing network: %v", err)
	}
}

// TestStackCreatesNetworks: a stack's services' networks that do not
// exist are planned (dry run: nothing written) and created by the deploy
// on the first free /16s; existing ones and "default" are not.
func TestStackCreatesNetworks(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	if _, err := d.CreateNetwork(ctx, deployer, api.NetworkCreate{Name: "shared", Subnet: "10.8.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	web, db := sleepSpec(), sleepSpec()
	web.Networks = []string{"front", "back", "shared"}
	db.Networks = []string{"back", "default"}
	spec := api.StackSpec{Services: []api.StackService{{Name: "web", Spec: web}, {Name: "db", Spec: db}}}
	before := snapshot(t, d)
	dry, err := d.DeployStack(ctx, deployer, "shop", spec, true)
	if err != nil || len(dry.Networks) != 2 || dry.Networks[0].Name != "back" || dry.Networks[0].Subnet != "10.9.0.0/16" ||
		dry.Networks[1].Name != "front" || dry.Networks[1].Subnet != "10.10.0.0/16" || dry.Networks[0].VNI == dry.Networks[1].VNI {
		t.Fatalf("dry run: %+v %v", dry.Networks, err)
	}
	if snapshot(t, d) != before {
		t.Fatal("a dry run wrote the store")
	}
	res, err := d.DeployStack(ctx, deployer, "shop", spec, false)
	if err != nil || len(res.Networks) != 2 {
		t.Fatalf("deploy: %+v %v", res, err)
	}
	for _, name := range []string{"back", "front"} {
		if n, err := d.InspectNetwork(ctx, reader, name); err != nil || n.Org != DefaultOrg {
			t.Errorf("network %s after the deploy: %+v %v", name, n, err)
		}
	}
	again, err := d.DeployStack(ctx, deployer, "shop", spec, false)
	if err != nil || len(again.Networks) != 0 {
		t.Errorf("deploy again: %+v %v", again.Networks, err)
	}
	if err := d.RemoveNetwork(ctx, deployer, "front"); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "shop-web") {
		t.Errorf("remove a network the stack uses: %v", err)
	}
}
