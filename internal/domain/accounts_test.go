package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// accounts is a domain with organization default (bootstrapped), the
// server administrator actor of its first admin token, and helpers.
type accounts struct {
	t     *testing.T
	d     *Domain
	ctx   context.Context
	root  Actor // the first admin token's actor
	clock *atomic.Int64
}

func newAccounts(t *testing.T) *accounts {
	t.Helper()
	clock := new(atomic.Int64)
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	d := newTestDomain(t, func(c *Config) { c.Now = func() time.Time { return time.Unix(0, clock.Load()) } })
	ctx := context.Background()
	secret, _, err := Bootstrap(ctx, d.st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, err := d.Authenticate(ctx, secret, "")
	if err != nil || !root.Can(ServerAdmin) {
		t.Fatalf("the first admin token: %+v %v, want a server administrator", root, err)
	}
	return &accounts{t: t, d: d, ctx: ctx, root: root, clock: clock}
}

// user makes a user and logs them in, returning the login's secret.
func (x *accounts) user(name string) string {
	x.t.Helper()
	if _, err := x.d.CreateUser(x.ctx, x.root, api.CreateUserRequest{Name: name, Password: "pw-" + name + "-secret"}); err != nil {
		x.t.Fatal(err)
	}
	tc, err := x.d.Login(x.ctx, api.LoginRequest{User: name, Password: "pw-" + name + "-secret"})
	if err != nil {
		x.t.Fatal(err)
	}
	return tc.Secret
}

func (x *accounts) auth(secret, org string) Actor {
	x.t.Helper()
	a, err := x.d.Authenticate(x.ctx, secret, org)
	if err != nil {
		x.t.Fatalf("Authenticate(%q): %v", org, err)
	}
	return a
}

// TestRoleMatrix: for every area, level and verb, a user whose only team
// grants exactly that level in that area may use the verb iff the verb
// needs at most that level in that area; through real users, teams,
// login tokens and Authenticate.
func TestRoleMatrix(t *testing.T) {
	x := newAccounts(t)
	x.user("boss")
	if _, err := x.d.CreateOrg(x.ctx, x.root, api.CreateOrgRequest{Name: "acme", Owner: "boss"}); err != nil {
		t.Fatal(err)
	}
	// The owner acts for the organization.
	owner := x.auth(x.login("boss"), "acme")
	checked := 0
	for _, area := range Areas {
		for li, lvl := range Levels {
			name := fmt.Sprintf("%s-%d", strings.ReplaceAll(string(area), "ications", ""), li)
			secret := x.user("u-" + name)
			members := []string{"u-" + name}
			if _, err := x.d.CreateTeam(x.ctx, owner, api.TeamRequest{Name: "t-" + name, Access: map[string]string{string(area): lvl}, Members: &members}); err != nil {
				t.Fatal(err)
			}
			a := x.auth(secret, "acme")
			for _, v := range Verbs {
				va, vl := v.Needs()
				want := va == area && Level(li) >= vl
				if got := a.Can(v); got != want {
					t.Errorf("%s=%s: Can(%s) = %v, want %v", area, lvl, v, got, want)
				}
				if err := a.need(v); (err == nil) != want || err != nil && !errors.Is(err, errdefs.ErrForbidden) {
					t.Errorf("%s=%s: need(%s) = %v", area, lvl, v, err)
				}
				checked++
			}
		}
	}
	if want := len(Areas) * len(Levels) * len(Verbs); checked != want {
		t.Errorf("checked %d cases, want %d", checked, want)
	}
}

func (x *accounts) login(name string) string {
	x.t.Helper()
	tc, err := x.d.Login(x.ctx, api.LoginRequest{User: name, Password: "pw-" + name + "-secret"})
	if err != nil {
		x.t.Fatal(err)
	}
	return tc.Secret
}

// TestLogin: the right password makes a token of the user, living 30
// days; a wrong password and a wrong name get the same error.
func TestLogin(t *testing.T) {
	x := newAccounts(t)
	x.user("ann")
	tc, err := x.d.Login(x.ctx, api.LoginRequest{User: "ann", Password: "pw-ann-secret"})
	if err != nil || tc.User != "ann" || !strings.HasPrefix(tc.Name, "login-") || tc.ExpiresAt.Sub(x.d.cfg.Now()) != LoginTTL {
		t.Fatalf("Login: %+v %v", tc, err)
	}
	_, e1 := x.d.Login(x.ctx, api.LoginRequest{User: "ann", Password: "wrong password"})
	_, e2 := x.d.Login(x.ctx, api.LoginRequest{User: "nobody", Password: "pw-ann-secret"})
	_, e3 := x.d.Login(x.ctx, api.LoginRequest{User: "../x", Password: ""})
	for _, err := range []error{e1, e2, e3} {
		if !errors.Is(err, errdefs.ErrUnauthorized) || err.Error() != e1.Error() {
			t.Errorf("a failed login: %v, want unauthorized %q", err, e1)
		}
	}
	// ann is in no organization yet: her token acts nowhere.
	if _, err := x.d.Authenticate(x.ctx, tc.Secret, ""); !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), "no organization") {
		t.Errorf("a user of no organization: %v", err)
	}
	// Expired: refused.
	x.user("bob")
	if _, err := x.d.AddMember(x.ctx, x.root, api.OwnersTeam, "bob"); err != nil {
		t.Fatal(err)
	}
	bob := x.login("bob")
	x.auth(bob, "")
	x.clock.Add(int64(LoginTTL))
	if _, err := x.d.Authenticate(x.ctx, bob, ""); !errors.Is(err, errdefs.ErrUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired token: %v, want unauthorized", err)
	}
}

// TestPasswordHashNeverShown: the stored user has an argon2id hash; what
// the operations return has none.
func TestPasswordHashNeverShown(t *testing.T) {
	x := newAccounts(t)
	x.user("ann")
	raw, err := x.d.st.List(x.ctx, store.KindUsers, store.ListOptions{})
	if err != nil || len(raw.Items) != 1 || !strings.Contains(string(raw.Items[0].Value), "$argon2id$") || strings.Contains(string(raw.Items[0].Value), "pw-ann-secret") {
		t.Fatalf("stored user: %v %v", raw, err)
	}
	l, err := x.d.ListUsers(x.ctx, x.root)
	b, _ := json.Marshal(l)
	if err != nil || len(l.Items) != 1 || strings.Contains(string(b), "argon2") || strings.Contains(string(b), "password") {
		t.Errorf("ListUsers: %s %v", b, err)
	}
	if passwordMatches("pw-ann-secret", "$argon2id$v=19$m=1,t=1,p=1$$") || !passwordMatches("x", mustHash(t, "x")) || passwordMatches("y", mustHash(t, "x")) {
		t.Error("passwordMatches")
	}
}

func mustHash(t *testing.T, pw string) string {
	h, err := hashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOrgs: a member of A asking for B gets not found; a token of no user
// cannot act in another organization; a user of several organizations
// names one; non-administrators cannot make users or organizations.
func TestOrgs(t *testing.T) {
	x := newAccounts(t)
	amy := x.user("amy")
	x.user("ben")
	for _, o := range []api.CreateOrgRequest{{Name: "a", Owner: "amy"}, {Name: "b", Owner: "ben"}} {
		if _, err := x.d.CreateOrg(x.ctx, x.root, o); err != nil {
			t.Fatal(err)
		}
	}
	if a := x.auth(amy, ""); a.Org != "a" || !a.Can(OrgManage) || a.Can(ServerAdmin) {
		t.Errorf("amy: %+v", a)
	}
	_, err := x.d.Authenticate(x.ctx, amy, "b")
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("amy in b: %v, want not found", err)
	}
	if _, err := x.d.Authenticate(x.ctx, amy, "Bad/Org"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a malformed organization: %v", err)
	}
	if _, err := x.d.Authenticate(x.ctx, x.rootSecret(), "a"); !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), `belongs to organization "default"`) {
		t.Errorf("a token of no user in another organization: %v", err)
	}
	// amy, now also in default: a user of several organizations acts in
	// default unless she names another.
	if _, err := x.d.AddMember(x.ctx, x.root, api.OwnersTeam, "amy"); err != nil {
		t.Fatal(err)
	}
	if a := x.auth(amy, ""); a.Org != DefaultOrg || !a.Can(ServerAdmin) {
		t.Errorf("amy among several: %+v", a)
	}
	if a := x.auth(amy, "a"); a.Org != "a" || !a.Can(ServerAdmin) {
		t.Errorf("amy in a, an owner of default: %+v", a)
	}
	// ben is not an administrator of the server.
	ben := x.auth(x.login("ben"), "")
	before := snapshot(t, x.d)
	_, err = x.d.CreateUser(x.ctx, ben, api.CreateUserRequest{Name: "eve", Password: "12345678"})
	refused(t, x.d, before, "CreateUser by an owner of b", err)
	_, err = x.d.CreateOrg(x.ctx, ben, api.CreateOrgRequest{Name: "c", Owner: "ben"})
	refused(t, x.d, before, "CreateOrg by an owner of b", err)
	_, err = x.d.UpdateOrg(x.ctx, ben, "b", api.OrgPatch{Quotas: &api.Quotas{TokenRate: 100}})
	refused(t, x.d, before, "UpdateOrg by an owner of b", err)
	refused(t, x.d, before, "DeleteUser by an owner of b", x.d.DeleteUser(x.ctx, ben, "amy"))
	// Nor a deploy token of no user in default.
	dep, err := x.d.CreateToken(x.ctx, x.root, "ci", api.RoleDeploy, false)
	if err != nil {
		t.Fatal(err)
	}
	before = snapshot(t, x.d)
	_, err = x.d.CreateUser(x.ctx, x.auth(dep.Secret, ""), api.CreateUserRequest{Name: "eve", Password: "12345678"})
	refused(t, x.d, before, "CreateUser by a deploy token", err)
	// ben sees his organization only; amy (an administrator) every one.
	if l, err := x.d.ListOrgs(x.ctx, ben); err != nil || len(l.Items) != 1 || l.Items[0].ID != "b" {
		t.Errorf("ben's organizations: %+v %v", l, err)
	}
	if _, err := x.d.GetOrg(x.ctx, ben, "a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("ben reads a: %v", err)
	}
	if l, err := x.d.ListUsers(x.ctx, ben); err != nil || len(l.Items) != 1 || l.Items[0].ID != "ben" {
		t.Errorf("ben's users: %+v %v", l, err)
	}
	if l, err := x.d.ListTeams(x.ctx, ben); err != nil || len(l.Items) != 1 || l.Items[0].ID != "b.owners" {
		t.Errorf("ben's teams: %+v %v", l, err)
	}
	if _, err := x.d.GetTeam(x.ctx, ben, "a.owners"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("ben reads a's team: %v", err)
	}
	// Removing ben from b ends his access there at once.
	x.user("cal")
	if _, err := x.d.AddMember(x.ctx, ben, api.OwnersTeam, "cal"); err != nil {
		t.Fatal(err)
	}
	cal := x.auth(x.login("cal"), "")
	if _, err := x.d.RemoveMember(x.ctx, cal, api.OwnersTeam, "ben"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.d.Authenticate(x.ctx, x.login("ben"), "b"); !errors.Is(err, errdefs.ErrNotFound) && !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("ben after leaving b: %v", err)
	}
}

func (x *accounts) rootSecret() string {
	x.t.Helper()
	tc, err := x.d.CreateToken(x.ctx, x.root, "root2", api.RoleAdmin, false)
	if err != nil {
		x.t.Fatal(err)
	}
	return tc.Secret
}

// TestOwnersTeam: the owners team cannot lose its last member, by any
// way, nor be removed, nor change its access.
func TestOwnersTeam(t *testing.T) {
	x := newAccounts(t)
	x.user("amy")
	if _, err := x.d.CreateOrg(x.ctx, x.root, api.CreateOrgRequest{Name: "a", Owner: "amy"}); err != nil {
		t.Fatal(err)
	}
	amy := x.auth(x.login("amy"), "a")
	empty := []string{}
	if _, err := x.d.RemoveMember(x.ctx, amy, api.OwnersTeam, "amy"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("removing the last owner: %v", err)
	}
	if _, err := x.d.UpdateTeam(x.ctx, amy, api.OwnersTeam, api.TeamRequest{Members: &empty}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("emptying the owners: %v", err)
	}
	if err := x.d.DeleteUser(x.ctx, x.root, "amy"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("deleting the last owner: %v", err)
	}
	if err := x.d.DeleteTeam(x.ctx, amy, api.OwnersTeam); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("deleting the owners: %v", err)
	}
	if _, err := x.d.UpdateTeam(x.ctx, amy, api.OwnersTeam, api.TeamRequest{Access: map[string]string{"nodes": "read"}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("narrowing the owners: %v", err)
	}
	if a := x.auth(x.login("amy"), "a"); !a.Can(OrgManage) {
		t.Errorf("amy is still an owner: %+v", a)
	}
}

// TestRobotAndNarrowedTokens: a team's robot token acts with the team's
// access; a user's deploy token cannot exec and cannot make a wider
// token; nobody makes a token wider than their own.
func TestRobotAndNarrowedTokens(t *testing.T) {
	x := newAccounts(t)
	x.user("amy")
	x.user("dev")
	if _, err := x.d.CreateOrg(x.ctx, x.root, api.CreateOrgRequest{Name: "a", Owner: "amy"}); err != nil {
		t.Fatal(err)
	}
	amy := x.auth(x.login("amy"), "a")
	devs := []string{"dev"}
	if _, err := x.d.CreateTeam(x.ctx, amy, api.TeamRequest{Name: "ci", Access: map[string]string{"applications": "admin", "nodes": "read"}, Members: &devs}); err != nil {
		t.Fatal(err)
	}
	robot, err := x.d.CreateTokenFor(x.ctx, amy, api.CreateTokenRequest{Name: "deployer", Team: "ci"})
	if err != nil || robot.Team != "a.ci" || robot.User != "" {
		t.Fatalf("robot token: %+v %v", robot, err)
	}
	r := x.auth(robot.Secret, "")
	if r.Org != "a" || !r.Can(AppsDeploy) || !r.Can(AppsExec) || r.Can(NodesLabel) || r.Can(OrgManage) || r.User != "" {
		t.Errorf("robot actor: %+v", r)
	}
	if _, err := x.d.Authenticate(x.ctx, robot.Secret, DefaultOrg); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("robot token in another organization: %v", err)
	}
	// A developer, not an owner, cannot make robot tokens; makes their own.
	dev := x.auth(x.login("dev"), "")
	before := snapshot(t, x.d)
	_, err = x.d.CreateTokenFor(x.ctx, dev, api.CreateTokenRequest{Name: "r", Team: "ci"})
	refused(t, x.d, before, "a robot token by a non-owner", err)
	dt, err := x.d.CreateTokenFor(x.ctx, dev, api.CreateTokenRequest{Name: "laptop", Role: api.RoleDeploy, TTL: "1h"})
	if err != nil || dt.User != "dev" || dt.ExpiresAt.IsZero() {
		t.Fatalf("dev's deploy token: %+v %v", dt, err)
	}
	narrowed := x.auth(dt.Secret, "")
	if narrowed.Can(AppsExec) || !narrowed.Can(AppsDeploy) {
		t.Errorf("a deploy-narrowed user token: exec %v, deploy %v", narrowed.Can(AppsExec), narrowed.Can(AppsDeploy))
	}
	if _, err := x.d.Exec(x.ctx, narrowed, "any", []string{"sh"}); !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), "deploy token") {
		t.Errorf("exec with a deploy token: %v", err)
	}
	if _, err := x.d.Exec(x.ctx, dev, "any", []string{"sh"}); errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("exec with dev's login token (applications admin): %v", err)
	}
	before = snapshot(t, x.d)
	_, err = x.d.CreateTokenFor(x.ctx, narrowed, api.CreateTokenRequest{Name: "wider", Role: api.RoleAdmin})
	refused(t, x.d, before, "a wider token from a deploy token", err)
	if err := x.d.ChangePassword(x.ctx, narrowed, api.PasswordRequest{Old: "pw-dev-secret", New: "a new password"}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a deploy token changes the password: %v", err)
	}
	// dev lists their own tokens only; amy, an owner, every token of a.
	l, err := x.d.ListTokens(x.ctx, dev, Page{})
	if err != nil || len(l.Items) != 3 { // two logins, laptop
		t.Errorf("dev's tokens: %+v %v", l, err)
	}
	for _, tk := range l.Items {
		if tk.User != "dev" {
			t.Errorf("dev sees %+v", tk)
		}
	}
	if err := x.d.DeleteToken(x.ctx, dev, robot.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("dev deletes the robot token: %v", err)
	}
	if err := x.d.DeleteToken(x.ctx, dev, dt.ID); err != nil {
		t.Errorf("dev deletes their token: %v", err)
	}
	if err := x.d.DeleteToken(x.ctx, amy, robot.ID); err != nil {
		t.Errorf("amy deletes the robot token: %v", err)
	}
	// Expiry of a TTL'd token.
	t2, _ := x.d.CreateTokenFor(x.ctx, dev, api.CreateTokenRequest{Name: "short", TTL: "1m"})
	x.clock.Add(int64(time.Minute))
	if _, err := x.d.Authenticate(x.ctx, t2.Secret, ""); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("an expired token: %v", err)
	}
	// Passwords.
	dev = x.auth(x.login("dev"), "")
	if err := x.d.ChangePassword(x.ctx, dev, api.PasswordRequest{Old: "wrong", New: "a new password"}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a wrong old password: %v", err)
	}
	if err := x.d.ChangePassword(x.ctx, dev, api.PasswordRequest{Old: "pw-dev-secret", New: "a new password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.d.Login(x.ctx, api.LoginRequest{User: "dev", Password: "a new password"}); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
}

// TestTokenRate: over the organization's rate, a token is refused with a
// RateLimitedError saying when to retry; another token has its own.
func TestTokenRate(t *testing.T) {
	x := newAccounts(t)
	if _, err := x.d.UpdateOrg(x.ctx, x.root, DefaultOrg, api.OrgPatch{Quotas: &api.Quotas{TokenRate: 1}}); err != nil {
		t.Fatal(err)
	}
	s := x.rootSecret()
	for range 2 { // the burst
		x.auth(s, "")
	}
	_, err := x.d.Authenticate(x.ctx, s, "")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, errdefs.ErrTooManyRequests) || rl.RetryAfter() <= 0 || rl.RetryAfter() > time.Second {
		t.Fatalf("over the rate: %v", err)
	}
	x.auth(x.rootSecret(), "")
	x.clock.Add(int64(time.Second))
	x.auth(s, "")
	if _, err := x.d.UpdateOrg(x.ctx, x.root, DefaultOrg, api.OrgPatch{Quotas: &api.Quotas{TokenRate: -1}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a negative rate: %v", err)
	}
}

// TestBootstrapMakesDefaultOrg: at every start, organization default and
// its owners team exist, once.
func TestBootstrapMakesDefaultOrg(t *testing.T) {
	d := newTestDomain(t)
	for range 2 {
		if _, _, err := Bootstrap(t.Context(), d.st, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	var o api.Org
	var team api.Team
	if err := d.st.Get(t.Context(), store.KindOrgs, DefaultOrg, &o); err != nil {
		t.Fatal(err)
	}
	if err := d.st.Get(t.Context(), store.KindTeams, "default.owners", &team); err != nil || team.Access["organization"] != "admin" {
		t.Fatalf("owners of default: %+v %v", team, err)
	}
}

// BenchmarkAuthenticate: the cost of finding the actor, for a token of no
// user and for a user's login token (in default, and naming an
// organization).
func BenchmarkAuthenticate(b *testing.B) {
	d := newTestDomain(b)
	ctx := context.Background()
	secret, _, err := Bootstrap(ctx, d.st, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	root, _ := d.Authenticate(ctx, secret, "")
	if _, err := d.CreateUser(ctx, root, api.CreateUserRequest{Name: "ann", Password: "ann-password"}); err != nil {
		b.Fatal(err)
	}
	if _, err := d.AddMember(ctx, root, api.OwnersTeam, "ann"); err != nil {
		b.Fatal(err)
	}
	if _, err := d.CreateOrg(ctx, root, api.CreateOrgRequest{Name: "acme", Owner: "ann"}); err != nil {
		b.Fatal(err)
	}
	tc, err := d.Login(ctx, api.LoginRequest{User: "ann", Password: "ann-password"})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, secret, org string }{{"legacy", secret, ""}, {"user", tc.Secret, ""}, {"user-org", tc.Secret, "acme"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Authenticate(ctx, c.secret, c.org); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
