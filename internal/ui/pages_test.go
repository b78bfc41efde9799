package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestPages: each page shows what the domain layer gives the actor, the
// services filter works, and failing things come first.
func TestPages(t *testing.T) {
	e := newEnv(t)
	web := e.service("web", 1)
	e.service("worker", 2)
	node := &api.Node{Meta: api.Meta{ID: "n1", Name: "host-one"}, State: api.NodeUnreachable, Address: "10.0.0.7",
		Labels: map[string]string{"zone": "a"}, CPUs: 4, OS: "linux"}
	if err := e.st.Create(e.ctx, store.KindNodes, node); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.DeployStack(e.ctx, e.root, "shop", api.StackSpec{Services: []api.StackService{{Name: "api", Spec: api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: 1}}}}, false); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(e.admin)

	r := b.get("/ui/")
	wantCode(t, "overview", r, http.StatusOK)
	wantIn(t, "overview", r.body, "Needs a look", "host-one", "Unreachable", "Recent events", "service web")

	r = b.get("/ui/services")
	wantIn(t, "services", r.body, ">web<", ">worker<", "shop-api", "3 of 3 services")
	r = b.get("/ui/services?q=WOR")
	wantIn(t, "filtered services", r.body, ">worker<", "1 of 3 services")
	if strings.Contains(r.body, ">web<") {
		t.Error("the name filter kept web")
	}
	r = b.get("/ui/services?state=Failing")
	wantIn(t, "services by state", r.body, "0 of 3 services")

	r = b.get("/ui/services/" + web.ID)
	wantCode(t, "service", r, http.StatusOK)
	wantIn(t, "service", r.body, "<h1>web</h1>", "sleep 60", "1 running of 1 wanted"[2:], "Containers", ">Scale<", "Remove…")

	r = b.get("/ui/services/nope")
	wantCode(t, "missing service", r, http.StatusNotFound)

	r = b.get("/ui/nodes")
	wantIn(t, "nodes", r.body, "host-one", "10.0.0.7", "zone=a", "Make a join command")
	r = b.get("/ui/nodes/n1")
	wantIn(t, "node", r.body, "host-one", "linux", "zone")

	r = b.get("/ui/stacks")
	wantIn(t, "stacks", r.body, ">shop<")
	r = b.get("/ui/stacks/shop")
	wantIn(t, "stack", r.body, "shop-api")

	r = b.get("/ui/events")
	wantIn(t, "events", r.body, "service web", "created")
}

// TestJoinCommand: the nodes page makes a join token and shows its
// command once.
func TestJoinCommand(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.admin)
	page := b.get("/ui/nodes")
	r := b.post("/ui/nodes/join-token", url.Values{"csrf": {csrfOf(t, page.body)}, "ttl": {"1h"}})
	wantCode(t, "join token", r, http.StatusOK)
	wantIn(t, "join token", r.body, "curl … | sh -s WHARF-1-0123abcd-", "Copy")
	r = b.post("/ui/nodes/join-token", url.Values{"csrf": {csrfOf(t, page.body)}, "ttl": {"soon"}})
	wantCode(t, "a bad lifetime", r, http.StatusBadRequest)
}

// TestServiceActions: scale, stop, start, redeploy and a confirmed
// remove go through (what each does is the domain layer's, tested there); a remove without the name typed does not; a bad
// number is a 400 that names the field.
func TestServiceActions(t *testing.T) {
	e := newEnv(t)
	svc := e.service("web", 1)
	b := e.signedIn(e.admin)
	csrf := csrfOf(t, b.get("/ui/services/"+svc.ID).body)
	post := func(action string, kv ...string) response {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return b.post("/ui/services/"+svc.ID+"/"+action, v)
	}
	r := post("scale", "replicas", "many")
	wantCode(t, "scale to many", r, http.StatusBadRequest)
	wantIn(t, "scale to many", r.body, "replicas", "whole number")
	wantCode(t, "scale", post("scale", "replicas", "2"), http.StatusSeeOther)
	wantCode(t, "stop", post("stop"), http.StatusSeeOther)
	wantCode(t, "start", post("start"), http.StatusSeeOther)
	wantCode(t, "redeploy", post("redeploy"), http.StatusSeeOther)

	wantIn(t, "confirm page", b.get("/ui/services/"+svc.ID+"/remove").body, "Type", "to confirm")
	r = post("remove", "confirm", "wbe")
	wantCode(t, "remove with a typo", r, http.StatusBadRequest)
	if _, err := e.d.GetService(e.ctx, e.root, svc.ID); err != nil {
		t.Fatalf("the service went after a refused remove: %v", err)
	}
	wantCode(t, "remove", post("remove", "confirm", "web"), http.StatusSeeOther)
	if s, err := e.d.GetService(e.ctx, e.root, svc.ID); err == nil && !s.Terminating {
		t.Error("the service is not being removed")
	}
}

// TestOrganizations: a user in two organizations picks one at sign-in
// or later; the pages then show that organization's services only; an
// organization the user is not in is refused.
func TestOrganizations(t *testing.T) {
	e := newEnv(t)
	if _, err := e.d.CreateUser(e.ctx, e.root, api.CreateUserRequest{Name: "bo", Password: "bo-password-12"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.AddMember(e.ctx, e.root, api.OwnersTeam, "bo"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.CreateOrg(e.ctx, e.root, api.CreateOrgRequest{Name: "acme", Owner: "bo"}); err != nil {
		t.Fatal(err)
	}
	e.service("in-default", 1)
	b := e.browser()
	wantCode(t, "sign in to acme", b.signIn("user", "bo", "password", "bo-password-12", "org", "acme"), http.StatusSeeOther)
	r := b.get("/ui/services")
	wantIn(t, "acme's services", r.body, "0 of 0 services", `<option value="default"`, `<option value="acme" selected`)

	r = b.post("/ui/org", url.Values{"csrf": {csrfOf(t, r.body)}, "org": {"default"}})
	wantCode(t, "switch", r, http.StatusSeeOther)
	wantIn(t, "default's services", b.get("/ui/services").body, "in-default")

	r = b.post("/ui/org", url.Values{"csrf": {csrfOf(t, b.get("/ui/").body)}, "org": {"elsewhere"}})
	wantCode(t, "switch to a foreign org", r, http.StatusNotFound)
	wantIn(t, "a foreign org", b.signIn("user", "bo", "password", "bo-password-12", "org", "elsewhere").body, "not a member")
}
