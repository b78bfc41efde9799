package domain

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// TestServiceRoutesValidated: create and update refuse bad routes, from
// the spec's fields and from its Docker Cloud variables, by field.
func TestServiceRoutesValidated(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	bad := sleepSpec()
	bad.Env = map[string]string{"VIRTUAL_HOST": "a.io:8080"}
	_, err := d.CreateService(ctx, deployer, "web", bad)
	var fe *errdefs.FieldError
	if !errors.As(err, &fe) || fe.Field != "spec.env.VIRTUAL_HOST" || !strings.Contains(fe.Message, "use a tcp route") {
		t.Fatalf("create with VIRTUAL_HOST on port 8080: %v", err)
	}
	good := sleepSpec()
	good.Routes = []api.Route{{Host: "a.io"}}
	if _, err := d.CreateService(ctx, deployer, "web", good); err != nil {
		t.Fatal(err)
	}
	_, err = d.UpdateService(ctx, deployer, "web", json.RawMessage(`{"routes":[{"host":"a.io"},{"host":"a.io","path":"/"}]}`), 0)
	if !errors.As(err, &fe) || fe.Field != "spec.routes" || !strings.Contains(fe.Message, "same host and path") {
		t.Fatalf("update to a duplicate route: %v", err)
	}
	_, err = d.UpdateService(ctx, deployer, "web", json.RawMessage(`{"route_options":{"balance":"random"}}`), 0)
	if !errors.As(err, &fe) || fe.Field != "spec.route_options.balance" {
		t.Fatalf("update to a bad balance: %v", err)
	}
	if _, err := d.UpdateService(ctx, deployer, "web", json.RawMessage(`{"routes":[{"host":"a.io","path":"/api"}],"route_options":{"balance":"source","force_ssl":true}}`), 0); err != nil {
		t.Fatalf("a good update: %v", err)
	}
	// route_options is replaced whole, as resources and update are: an
	// option left out (false, "") is unset.
	svc, err := d.UpdateService(ctx, deployer, "web", json.RawMessage(`{"route_options":{"balance":"source"}}`), 0)
	if err != nil || svc.Spec.RouteOptions != (api.RouteOptions{Balance: "source"}) || len(svc.Spec.Routes) != 1 || svc.Spec.Routes[0].Path != "/api" {
		t.Fatalf("route_options replaced: %+v, %v", svc, err)
	}
}

// TestRouterStatus: the organization's routes with their backends and
// its router nodes, nothing of another organization's, for any reader.
func TestRouterStatus(t *testing.T) {
	d := newTestDomain(t, withSealer(t))
	ctx := context.Background()
	spec := sleepSpec()
	spec.Routes = []api.Route{{Host: "a.io"}, {Protocol: api.RouteHTTPS, Host: "b.io"}}
	spec.RouteOptions.Certificate = "b-cert"
	svc, err := d.CreateService(ctx, deployer, "web", spec)
	if err != nil {
		t.Fatal(err)
	}
	put := func(kind string, obj store.Object) {
		t.Helper()
		if err := d.st.Create(ctx, kind, obj); err != nil {
			t.Fatal(err)
		}
	}
	put(store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1", Name: "edge"}, State: api.NodeDeployed, Address: "10.1.0.1", Labels: map[string]string{api.RouterLabel: "true"}})
	put(store.KindNodes, &api.Node{Meta: api.Meta{ID: "n2", Name: "theirs", Org: "acme"}, State: api.NodeDeployed, Address: "10.2.0.1", Labels: map[string]string{api.RouterLabel: "true"}})
	put(store.KindContainers, &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: svc.ID, Slot: 1, Node: "n1", Driver: "exec", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerRunning, HostPort: 30001}})
	put(store.KindServices, &api.Service{Meta: api.Meta{ID: "s-acme", Name: "shop", Org: "acme"},
		Spec: api.ServiceSpec{Command: []string{"x"}, Routes: []api.Route{{Host: "shop.io"}}}})

	st, err := d.RouterStatus(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 1 || st.Nodes[0].Name != "edge" {
		t.Errorf("router nodes %+v, want edge alone", st.Nodes)
	}
	if len(st.Routes) != 2 {
		t.Fatalf("routes %+v, want web's two", st.Routes)
	}
	a, b := st.Routes[0], st.Routes[1]
	if a.Service != "web" || a.Route != "a.io" || a.Problem != "" || len(a.Backends) != 1 ||
		a.Backends[0] != (api.BackendStatus{Container: "web-1", Node: "edge", Address: "10.1.0.1:30001", Ready: true, Status: "Running"}) {
		t.Errorf("route a.io: %+v", a)
	}
	if b.Route != "https://b.io" || !strings.Contains(b.Problem, `certificate secret "b-cert" not found`) {
		t.Errorf("route https://b.io: %+v", b)
	}
	// Once the secret exists, the route serves.
	if _, err := d.CreateSecret(ctx, deployer, "b-cert", []byte("PEM")); err != nil {
		t.Fatal(err)
	}
	if st, err = d.RouterStatus(ctx, reader); err != nil || st.Routes[1].Problem != "" {
		t.Errorf("with its secret: %+v, %v", st.Routes, err)
	}
	if _, err := d.RouterStatus(ctx, Actor{Name: "nobody", Org: DefaultOrg}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("an actor without apps read: %v", err)
	}
}

// TestRouterStatusACME: with the server's ACME settings, an https route
// without a certificate is served (by ACME); without them it is not.
func TestRouterStatusACME(t *testing.T) {
	ctx := context.Background()
	spec := sleepSpec()
	spec.Routes = []api.Route{{Protocol: api.RouteHTTPS, Host: "a.io"}}
	for _, acme := range []*api.ACMEConfig{nil, {Directory: "https://acme.test/dir"}} {
		d := newTestDomain(t, func(c *Config) { c.ACME = acme })
		if _, err := d.CreateService(ctx, deployer, "web", spec); err != nil {
			t.Fatal(err)
		}
		st, err := d.RouterStatus(ctx, reader)
		if err != nil || len(st.Routes) != 1 {
			t.Fatalf("status %+v, %v", st, err)
		}
		want := "no certificate: name a secret that holds one (--route-cert), or give the server an ACME directory"
		if acme != nil {
			want = "no container is ready"
		}
		if st.Routes[0].Problem != want {
			t.Errorf("ACME %v: problem %q, want %q", acme, st.Routes[0].Problem, want)
		}
	}
}
