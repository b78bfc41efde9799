package domain

import (
	"errors"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// TestRoleGrants: the grants of each role, and that an unknown role gets
// the least (a read-only token's).
func TestRoleGrants(t *testing.T) {
	cases := []struct {
		role  string
		area  Area
		level Level
		ok    bool
	}{
		{api.RoleReadOnly, AreaApps, Read, true},
		{api.RoleReadOnly, AreaApps, Write, false},
		{api.RoleReadOnly, AreaNodes, Read, true},
		{api.RoleReadOnly, AreaTokens, Read, false},
		{api.RoleDeploy, AreaApps, Write, true},
		{api.RoleDeploy, AreaApps, Admin, false},
		{api.RoleDeploy, AreaNodes, Write, false},
		{api.RoleDeploy, AreaTokens, Read, false},
		{api.RoleAdmin, AreaApps, Admin, true},
		{api.RoleAdmin, AreaNodes, Admin, true},
		{api.RoleAdmin, AreaTokens, Admin, true},
		{"superuser", AreaApps, Write, false},
		{"", AreaApps, Read, true},
		{"", AreaTokens, Read, false},
	}
	for _, c := range cases {
		a := Actor{Name: "x", Role: c.role}
		if got := a.May(c.area, c.level); got != c.ok {
			t.Errorf("role %q May(%s, %d) = %v, want %v", c.role, c.area, c.level, got, c.ok)
		}
		err := a.need(c.area, c.level)
		if c.ok != (err == nil) {
			t.Errorf("role %q need(%s, %d) = %v", c.role, c.area, c.level, err)
		}
		if err != nil && !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("role %q need(%s, %d) = %v, want a forbidden error", c.role, c.area, c.level, err)
		}
	}
}
