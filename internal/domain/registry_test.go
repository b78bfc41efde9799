package domain

import (
	"errors"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestParseImageRef(t *testing.T) {
	d := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for ref, want := range map[string][3]string{
		"acme/app:v1":         {"acme/app", "v1", ""},
		"acme/team/app:1.2-x": {"acme/team/app", "1.2-x", ""},
		"acme/app@" + d:       {"acme/app", "", d},
	} {
		repo, tag, dg, err := parseImageRef(ref)
		if err != nil || [3]string{repo, tag, dg} != want {
			t.Errorf("%s: %q %q %q %v", ref, repo, tag, dg, err)
		}
	}
	for _, ref := range []string{"acme/app", "app:v1", "acme/app@sha256:12", "Acme/app:v1", "acme/../x:v1", "acme/app:", "acme/app:v1/x", "acme//app:v1"} {
		if _, _, _, err := parseImageRef(ref); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", ref, err)
		}
	}
}

// TestAuthorizeRegistry: the verb decides by access and role, the first
// path element by organization; a node pulls its own organization's
// images and nothing more.
func TestAuthorizeRegistry(t *testing.T) {
	var d Domain
	owner := Actor{Name: "o", Org: "acme", Access: OwnerAccess()}
	ro := Actor{Name: "ro", Org: "acme", Access: OwnerAccess(), Role: api.RoleReadOnly}
	node := Actor{Name: "node:n1", Org: "acme", Access: Access{AreaRegistry: Read}, Role: api.RoleReadOnly}
	for _, c := range []struct {
		a    Actor
		repo string
		v    Verb
		want error
	}{
		{owner, "acme/app", RegistryAdmin, nil},
		{owner, "other/app", RegistryPull, errdefs.ErrNotFound},
		{owner, "app", RegistryPull, errdefs.ErrNotFound},
		{owner, "acme/app", AppsView, errdefs.ErrInvalid},
		{ro, "acme/app", RegistryPull, nil},
		{ro, "acme/app", RegistryPush, errdefs.ErrForbidden},
		{node, "acme/app", RegistryPull, nil},
		{node, "acme/app", RegistryPush, errdefs.ErrForbidden},
		{node, "other/app", RegistryPull, errdefs.ErrNotFound},
		{Actor{Name: "nobody", Org: "acme"}, "acme/app", RegistryPull, errdefs.ErrForbidden},
	} {
		err := d.AuthorizeRegistry(t.Context(), c.a, c.repo, c.v)
		if (c.want == nil) != (err == nil) || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s %s %s: %v, want %v", c.a.Name, c.v, c.repo, err, c.want)
		}
	}
}
