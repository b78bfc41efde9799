package domain

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// TestBuildNeedsDeployAndPush: a build runs a Dockerfile on a node and
// pushes an image: an actor who may deploy but not push, or push but not
// deploy, is refused before anything else.
func TestBuildNeedsDeployAndPush(t *testing.T) {
	d := newTestDomain(t, func(c *Config) { c.RegistryKey, c.RegistryHost = []byte("0123456789abcdef0123456789abcdef"), "reg:1" })
	req := api.BuildRequest{Repository: "default/web", Tag: "v1"}
	for _, a := range []Actor{
		{Name: "no-push", Org: DefaultOrg, Access: Access{AreaApps: Admin, AreaRegistry: Read}},
		{Name: "no-deploy", Org: DefaultOrg, Access: Access{AreaApps: ReadWrite, AreaRegistry: Admin}},
		reader,
	} {
		_, err := d.Build(t.Context(), a, req, strings.NewReader("x"), io.Discard)
		if !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", a.Name, err)
		}
	}
	// Allowed, it gets as far as the nodes: none builds here.
	if _, err := d.Build(t.Context(), deployer, req, strings.NewReader("x"), io.Discard); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("deployer: %v, want unavailable (no agents)", err)
	}
}

// TestBuildCredentialActor: a build credential's actor uses its one
// repository and no other.
func TestBuildCredentialActor(t *testing.T) {
	var d Domain
	a := Actor{Name: "build:n1", Org: "acme", Access: Access{AreaRegistry: ReadWrite}, Role: api.RoleDeploy, onlyRepo: "acme/web"}
	for _, c := range []struct {
		repo string
		v    Verb
		want error
	}{
		{"acme/web", RegistryPush, nil},
		{"acme/web", RegistryPull, nil},
		{"acme/web", RegistryAdmin, errdefs.ErrForbidden},
		{"acme/web2", RegistryPush, errdefs.ErrNotFound},
		{"acme/web/x", RegistryPull, errdefs.ErrNotFound},
		{"other/web", RegistryPush, errdefs.ErrNotFound},
	} {
		err := d.AuthorizeRegistry(t.Context(), a, c.repo, c.v)
		if (c.want == nil) != (err == nil) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s %s: %v, want %v", c.v, c.repo, err, c.want)
		}
	}
}
