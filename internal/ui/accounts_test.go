package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func (e *env) user(name string) {
	e.t.Helper()
	if _, err := e.d.CreateUser(e.ctx, e.root, api.CreateUserRequest{Name: name, Password: name + "-password-1"}); err != nil {
		e.t.Fatal(err)
	}
}

// members is the members of team ref of the root actor's organization.
func (e *env) members(ref string) []string {
	e.t.Helper()
	t, err := e.d.GetTeam(e.ctx, e.root, ref)
	if err != nil {
		return nil
	}
	return t.Members
}

// TestOrgsPage: the server's administrator sees every organization and
// makes one (a bad owner is the domain's message, with the form); a user
// sees the organizations they belong to with their teams and access, is
// offered no form, and a forged POST gets the domain's 403.
func TestOrgsPage(t *testing.T) {
	e := newEnv(t)
	e.user("ann")
	admin := e.signedIn(e.admin)
	r := admin.get("/ui/orgs")
	wantCode(t, "orgs", r, http.StatusOK)
	wantIn(t, "orgs", r.body, `href="/ui/orgs" aria-current="page"`, "default", `action="/ui/orgs"`)
	csrf := csrfOf(t, r.body)
	r = admin.post("/ui/orgs", url.Values{"csrf": {csrf}, "name": {"acme"}, "owner": {"nobody"}})
	wantCode(t, "an unknown owner", r, http.StatusBadRequest)
	wantIn(t, "an unknown owner", r.body, `id="org-error"`, "no user", `value="acme"`)
	r = admin.post("/ui/orgs", url.Values{"csrf": {csrf}, "name": {"acme"}, "owner": {"ann"}})
	wantCode(t, "create org", r, http.StatusSeeOther)
	wantIn(t, "orgs after", admin.get(r.hdr.Get("Location")).body, "Organization acme created", ">acme<")

	ann := e.browser()
	wantCode(t, "ann signs in", ann.signIn("user", "ann", "password", "ann-password-1"), http.StatusSeeOther)
	r = ann.get("/ui/orgs")
	wantCode(t, "ann's orgs", r, http.StatusOK)
	wantIn(t, "ann's orgs", r.body, ">acme <span", "owners", "organization: admin")
	if strings.Contains(r.body, ">default<") || strings.Contains(r.body, `action="/ui/orgs"`) {
		t.Error("ann sees another organization or the create form")
	}
	r = ann.post("/ui/orgs", url.Values{"csrf": {csrfOf(t, r.body)}, "name": {"evil"}, "owner": {"ann"}})
	wantCode(t, "forged create org", r, http.StatusForbidden)
}

// TestTeamsPage: a manager makes a team with access and members, adds and
// removes a member, sees a bad user refused with the domain's message,
// and deletes the team after typing its name.
func TestTeamsPage(t *testing.T) {
	e := newEnv(t)
	e.user("ann")
	e.user("bob")
	b := e.signedIn(e.admin)
	r := b.get("/ui/teams")
	wantCode(t, "teams", r, http.StatusOK)
	wantIn(t, "teams", r.body, `href="/ui/teams" aria-current="page"`, `href="/ui/teams/owners"`, `action="/ui/teams"`, `<label for="access-applications">`)
	csrf := csrfOf(t, r.body)
	r = b.post("/ui/teams", url.Values{"csrf": {csrf}, "name": {"dev"}, "access.applications": {"read-write"}, "access.nodes": {"read"}, "members": {"ann, ghost"}})
	wantCode(t, "a team with an unknown member", r, http.StatusBadRequest)
	wantIn(t, "a team with an unknown member", r.body, `id="team-error"`, "no user &#34;ghost&#34;", `value="ann, ghost"`)
	r = b.post("/ui/teams", url.Values{"csrf": {csrf}, "name": {"dev"}, "access.applications": {"read-write"}, "access.nodes": {"read"}, "members": {"ann"}})
	wantCode(t, "create team", r, http.StatusSeeOther)
	if loc := r.hdr.Get("Location"); loc != "/ui/teams/dev" {
		t.Fatalf("after create: %q", loc)
	}
	tm, err := e.d.GetTeam(e.ctx, e.root, "dev")
	if err != nil || tm.Access["applications"] != "read-write" || tm.Access["nodes"] != "read" || !slices.Equal(tm.Members, []string{"ann"}) {
		t.Fatalf("team dev: %+v %v", tm, err)
	}
	r = b.get("/ui/teams/dev")
	wantIn(t, "team page", r.body, "applications: read-write", ">ann<", `action="/ui/teams/dev/members"`)

	wantCode(t, "add bob", b.post("/ui/teams/dev/members", url.Values{"csrf": {csrf}, "user": {"bob"}}), http.StatusSeeOther)
	r = b.post("/ui/teams/dev/members", url.Values{"csrf": {csrf}, "user": {"ghost"}})
	wantCode(t, "add ghost", r, http.StatusBadRequest)
	wantIn(t, "add ghost", r.body, "no user", `value="ghost"`)
	wantCode(t, "remove ann", b.post("/ui/teams/dev/members/remove", url.Values{"csrf": {csrf}, "user": {"ann"}}), http.StatusSeeOther)
	if got := e.members("dev"); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("members after add bob, remove ann: %v", got)
	}
	wantCode(t, "delete, wrong name", b.post("/ui/teams/dev/delete", url.Values{"csrf": {csrf}, "confirm": {"de"}}), http.StatusBadRequest)
	wantCode(t, "delete", b.post("/ui/teams/dev/delete", url.Values{"csrf": {csrf}, "confirm": {"dev"}}), http.StatusSeeOther)
	if _, err := e.d.GetTeam(e.ctx, e.root, "dev"); err == nil {
		t.Error("team dev is still there")
	}
	r = b.post("/ui/teams/owners/delete", url.Values{"csrf": {csrf}, "confirm": {"owners"}})
	wantCode(t, "delete owners", r, http.StatusConflict)
}

// TestTeamsReadOnly: a read-only token sees the teams and members with no
// form; forged POSTs get the domain's 403 and change nothing.
func TestTeamsReadOnly(t *testing.T) {
	e := newEnv(t)
	e.user("ann")
	members := []string{"ann"}
	if _, err := e.d.CreateTeam(e.ctx, e.root, api.TeamRequest{Name: "dev", Access: map[string]string{"applications": "read"}, Members: &members}); err != nil {
		t.Fatal(err)
	}
	ro := e.signedIn(e.token("viewer", api.RoleReadOnly))
	r := ro.get("/ui/teams")
	wantCode(t, "read-only teams", r, http.StatusOK)
	wantIn(t, "read-only teams", r.body, `href="/ui/teams/dev"`, "ann")
	team := ro.get("/ui/teams/dev")
	for _, page := range []response{r, team} {
		if strings.Contains(page.body, `action="/ui/teams`) {
			t.Errorf("a read-only token is offered a team form:\n%s", page.body)
		}
	}
	csrf := csrfOf(t, r.body)
	for path, form := range map[string]url.Values{
		"/ui/teams":                    {"name": {"evil"}},
		"/ui/teams/dev/members":        {"user": {"ann"}},
		"/ui/teams/dev/members/remove": {"user": {"ann"}},
		"/ui/teams/dev/delete":         {"confirm": {"dev"}},
	} {
		form.Set("csrf", csrf)
		wantCode(t, "forged "+path, ro.post(path, form), http.StatusForbidden)
	}
	if got := e.members("dev"); !slices.Equal(got, []string{"ann"}) {
		t.Errorf("members after refused POSTs: %v", got)
	}
	if _, err := e.d.GetTeam(e.ctx, e.root, "evil"); err == nil {
		t.Error("a refused POST made a team")
	}
}
