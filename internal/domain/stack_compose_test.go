package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// TestDeployComposeText: a compose file's text is planned (nothing
// written), then deployed; a file that reads the server's files, a
// secret that does not exist and a read-only actor are refused, the last
// before the file is read.
func TestDeployComposeText(t *testing.T) {
	d := newTestDomain(t, withSealer(t))
	ctx := context.Background()
	text := []byte("services:\n  web:\n    image: nginx\n    cap_add: [NET_ADMIN]\n    deploy:\n      replicas: ${N:-2}\n  worker:\n    image: busybox\n")

	before := snapshot(t, d)
	dry, err := d.DeployComposeText(ctx, deployer, "shop", "compose.yml", text, map[string]string{"N": "3"}, true)
	if err != nil || !dry.Result.DryRun || len(dry.Result.Plan) != 2 || dry.Result.Plan[0].Action != api.PlanCreate {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if len(dry.Warnings) != 1 || dry.Warnings[0].Line != 4 {
		t.Errorf("warnings %+v; want cap_add at line 4", dry.Warnings)
	}
	if after := snapshot(t, d); after != before {
		t.Fatal("a dry run wrote the store")
	}
	res, err := d.DeployComposeText(ctx, deployer, "shop", "compose.yml", text, map[string]string{"N": "3"}, false)
	if err != nil || !res.Result.Created {
		t.Fatalf("deploy: %+v, %v", res, err)
	}
	svcs, err := d.ListServices(ctx, reader, "shop", Page{})
	if err != nil || len(svcs.Items) != 2 {
		t.Fatalf("services: %+v, %v", svcs, err)
	}
	for _, s := range svcs.Items {
		if s.Name == "shop-web" && s.Spec.Replicas != 3 {
			t.Errorf("web replicas %d, want 3 from the variable", s.Spec.Replicas)
		}
	}

	before = snapshot(t, d)
	for what, c := range map[string]struct {
		a    Actor
		text string
		kind error
		want string
	}{
		"read-only":      {reader, "services:\n  web:\n    env_file: /etc/hostname\n", errdefs.ErrForbidden, ""},
		"env_file":       {deployer, "services:\n  web:\n    image: nginx\n    env_file: /etc/hostname\n", errdefs.ErrInvalid, "compose.yml:4: services.web.env_file"},
		"missing secret": {deployer, "services:\n  web:\n    image: nginx\n    secrets: [token]\nsecrets:\n  token:\n    external: true\n", errdefs.ErrInvalid, `secret "token" does not exist`},
		"bad name":       {deployer, string(text), errdefs.ErrInvalid, "stack name"},
	} {
		name := "shop"
		if what == "bad name" {
			name = "Bad_Name"
		}
		_, err := d.DeployComposeText(ctx, c.a, name, "compose.yml", []byte(c.text), nil, false)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %v containing %q", what, err, c.kind, c.want)
		}
	}
	if after := snapshot(t, d); after != before {
		t.Error("a refused deploy wrote the store")
	}

	// An existing secret is used.
	if _, err := d.CreateSecret(ctx, deployer, "token", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeployComposeText(ctx, deployer, "other", "compose.yml", []byte("services:\n  web:\n    image: nginx\n    secrets: [token]\nsecrets:\n  token:\n    external: true\n"), nil, false); err != nil {
		t.Errorf("deploy with an existing secret: %v", err)
	}
}
