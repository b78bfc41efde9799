package domain

import (
	"errors"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// TestTokenRolesNarrow: a token of no user has an owner's access narrowed
// by its role, as tokens had before organizations: read-only looks,
// deploy changes applications but neither execs nor touches nodes or
// tokens, admin does everything; an unknown role is read-only.
func TestTokenRolesNarrow(t *testing.T) {
	allowed := map[string][]Verb{
		api.RoleReadOnly: {AppsView, AppsLogs, NetworksView, NodesView, SecretsView, RegistryPull},
		api.RoleDeploy: {AppsView, AppsLogs, AppsOperate, AppsDeploy, NetworksView, NetworksWrite, NodesView, SecretsView, SecretsWrite, SecretsAdmin,
			RegistryPull, RegistryPush},
		api.RoleAdmin: Verbs,
		"superuser":   {AppsView, AppsLogs, NetworksView, NodesView, SecretsView, RegistryPull},
	}
	for role, verbs := range allowed {
		a := Actor{Name: "x", Access: FullAccess(), Role: role}
		for _, v := range Verbs {
			want := false
			for _, ok := range verbs {
				want = want || ok == v
			}
			if got := a.Can(v); got != want {
				t.Errorf("role %q Can(%s) = %v, want %v", role, v, got, want)
			}
			if err := a.need(v); (err == nil) != want || err != nil && !errors.Is(err, errdefs.ErrForbidden) {
				t.Errorf("role %q need(%s) = %v", role, v, err)
			}
		}
	}
}

// TestZeroActorMayNothing: an actor nobody granted anything is refused
// every verb, so a front door that forgets to authenticate lets nothing
// through.
func TestZeroActorMayNothing(t *testing.T) {
	for _, v := range Verbs {
		if (Actor{}).Can(v) {
			t.Errorf("the zero Actor may %s", v)
		}
	}
}

// TestAccessAddsUp: a user's teams add up, area by area.
func TestAccessAddsUp(t *testing.T) {
	a := Access{AreaApps: Read, AreaNodes: Admin}
	a.Add(Access{AreaApps: ReadWrite, AreaNodes: Read, AreaSecrets: Read})
	want := Access{AreaApps: ReadWrite, AreaNodes: Admin, AreaSecrets: Read}
	for _, ar := range Areas {
		if a[ar] != want[ar] {
			t.Errorf("%s: %s, want %s", ar, a[ar], want[ar])
		}
	}
}
