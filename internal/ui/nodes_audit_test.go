package ui

import (
	"bufio"
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// addNode stores a deployed node, as a join would.
func (e *env) addNode(id, name string) {
	e.t.Helper()
	n := api.Node{Meta: api.Meta{ID: id, Name: name}, Hostname: name, State: api.NodeDeployed}
	if err := e.st.Create(e.ctx, store.KindNodes, &n); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) labels(id string) map[string]string {
	e.t.Helper()
	n, err := e.d.GetNode(e.ctx, e.root, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return n.Labels
}

// TestNodeLabels: the node page's forms set, change and remove a label;
// an invalid label and a form without its token are refused.
func TestNodeLabels(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	b := e.signedIn(e.admin)
	page := b.get("/ui/nodes/n1")
	wantIn(t, "node page", page.body, "Set label", "/ui/nodes/n1/remove")
	csrf := csrfOf(t, page.body)
	post := func(kv ...string) response {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return b.post("/ui/nodes/n1/labels", v)
	}
	want := func(what string, l map[string]string) {
		t.Helper()
		if got := e.labels("n1"); !maps.Equal(got, l) {
			t.Errorf("%s: labels %v, want %v", what, got, l)
		}
	}
	wantCode(t, "set zone", post("op", "set", "key", "zone", "value", "eu"), http.StatusSeeOther)
	wantCode(t, "set disk", post("op", "set", "key", "disk", "value", "ssd"), http.StatusSeeOther)
	want("after setting two", map[string]string{"zone": "eu", "disk": "ssd"})
	wantCode(t, "change zone", post("op", "set", "key", "zone", "value", "us"), http.StatusSeeOther)
	want("after a change", map[string]string{"zone": "us", "disk": "ssd"})
	wantIn(t, "node page", b.get("/ui/nodes/n1").body, ">zone<", ">us", `name="key" value="disk"`)

	r := post("op", "set", "key", "bad key!", "value", "x")
	wantCode(t, "an invalid key", r, http.StatusBadRequest)
	wantIn(t, "an invalid key", r.body, "label key")
	wantCode(t, "no key", post("op", "set", "value", "x"), http.StatusBadRequest)
	wantCode(t, "an unknown op", post("op", "swap", "key", "zone"), http.StatusBadRequest)

	r = b.post("/ui/nodes/n1/labels", url.Values{"op": {"remove"}, "key": {"zone"}})
	wantCode(t, "no form token", r, http.StatusForbidden)
	want("after refusals", map[string]string{"zone": "us", "disk": "ssd"})

	wantCode(t, "remove zone", post("op", "remove", "key", "zone"), http.StatusSeeOther)
	want("after removing", map[string]string{"disk": "ssd"})
}

// TestNodeRemove: removal asks for the node's name; a typo is refused, the
// name removes it (a node without containers goes at once).
func TestNodeRemove(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	b := e.signedIn(e.admin)
	page := b.get("/ui/nodes/n1/remove")
	wantIn(t, "confirm page", page.body, "Type", "alpha", "to confirm")
	csrf := csrfOf(t, page.body)
	r := b.post("/ui/nodes/n1/remove", url.Values{"csrf": {csrf}, "confirm": {"alhpa"}})
	wantCode(t, "remove with a typo", r, http.StatusBadRequest)
	wantIn(t, "remove with a typo", r.body, "alpha")
	if _, err := e.d.GetNode(e.ctx, e.root, "n1"); err != nil {
		t.Fatalf("the node went after a refused remove: %v", err)
	}
	wantCode(t, "remove without a token", b.post("/ui/nodes/n1/remove", url.Values{"confirm": {"alpha"}}), http.StatusForbidden)
	r = b.post("/ui/nodes/n1/remove", url.Values{"csrf": {csrf}, "confirm": {"alpha"}})
	wantCode(t, "remove", r, http.StatusSeeOther)
	if loc := r.hdr.Get("Location"); loc != "/ui/nodes" {
		t.Errorf("remove went to %q, want /ui/nodes", loc)
	}
	if _, err := e.d.GetNode(e.ctx, e.root, "n1"); err == nil {
		t.Error("the node is still there")
	}
}

// TestNodeReadOnly: a read-only user sees no node forms, and the domain
// layer refuses the forms forged with the session's own token.
func TestNodeReadOnly(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	b := e.signedIn(e.token("viewer", api.RoleReadOnly))
	page := b.get("/ui/nodes/n1")
	wantCode(t, "node page", page, http.StatusOK)
	for _, s := range []string{"/labels", "/remove", "Set label"} {
		if strings.Contains(page.body, s) {
			t.Errorf("the read-only node page offers %q", s)
		}
	}
	csrf := csrfOf(t, page.body) // the sign-out form's: the session's token
	r := b.post("/ui/nodes/n1/labels", url.Values{"csrf": {csrf}, "op": {"set"}, "key": {"zone"}, "value": {"eu"}})
	wantCode(t, "read-only label", r, http.StatusForbidden)
	r = b.post("/ui/nodes/n1/remove", url.Values{"csrf": {csrf}, "confirm": {"alpha"}})
	wantCode(t, "read-only remove", r, http.StatusForbidden)
	if l := e.labels("n1"); len(l) != 0 {
		t.Errorf("labels %v after a refused POST", l)
	}
}

// TestAuditPage: the audit trail lists an action recorded before, newest
// first, a page at a time with a link to the older ones, and is linked
// from the navigation.
func TestAuditPage(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/v1/services/a/scale", "/v1/services/b/stop", "/v1/nodes/c"} {
		a := api.Action{Who: "ci-bot", Method: "POST", Path: p, Status: 200, Result: "Success", Started: time.Now()}
		if err := e.d.RecordAction(e.ctx, e.root, a); err != nil {
			t.Fatal(err)
		}
	}
	b := e.signedIn(e.token("viewer", api.RoleReadOnly))
	wantIn(t, "navigation", b.get("/ui/").body, `href="/ui/audit"`)
	r := b.get("/ui/audit")
	wantCode(t, "audit page", r, http.StatusOK)
	wantIn(t, "audit page", r.body, "ci-bot", "/v1/services/a/scale", "/v1/nodes/c")
	if strings.Index(r.body, "/v1/nodes/c") > strings.Index(r.body, "/v1/services/a/scale") {
		t.Error("the audit trail is not newest first")
	}

	r = b.get("/ui/audit?limit=2")
	wantIn(t, "first page", r.body, "/v1/nodes/c", "/v1/services/b/stop", ">Older</a>")
	if strings.Contains(r.body, "/v1/services/a/scale") {
		t.Error("the first page of 2 shows the oldest action")
	}
	m := strings.Index(r.body, `href="/ui/audit?after=`)
	if m < 0 {
		t.Fatal("no link to the older page")
	}
	link := r.body[m+len(`href="`):]
	link = strings.ReplaceAll(link[:strings.IndexByte(link, '"')], "&amp;", "&")
	r = b.get(link)
	wantIn(t, "older page", r.body, "/v1/services/a/scale", ">Newest</a>")
	if strings.Contains(r.body, "/v1/nodes/c") || strings.Contains(r.body, ">Older</a>") {
		t.Error("the older page repeats the newest, or links to one older still")
	}
	wantCode(t, "a bad limit", b.get("/ui/audit?limit=lots"), http.StatusBadRequest)
	wantCode(t, "a limit out of range", b.get("/ui/audit?limit=5000"), http.StatusBadRequest)
}

// TestEventsFilter: the events page keeps the events of the kind, object
// and type asked for, and the stream with the same filter sends only
// theirs.
func TestEventsFilter(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	if _, err := e.d.LabelNode(e.ctx, e.root, "n1", map[string]string{"zone": "eu"}, 0); err != nil {
		t.Fatal(err)
	}
	svc := e.service("web", 1)
	b := e.signedIn(e.admin)

	r := b.get("/ui/events")
	wantIn(t, "all events", r.body, "node labels set", "/ui/services/"+svc.ID)
	r = b.get("/ui/events?kind=node")
	wantIn(t, "node events", r.body, "node labels set", `value="node"`, "Show all")
	if strings.Contains(r.body, "/ui/services/"+svc.ID) {
		t.Error("kind=node shows the service's event")
	}
	r = b.get("/ui/events?object=web&type=created")
	wantIn(t, "web's events", r.body, "/ui/services/"+svc.ID)
	if strings.Contains(r.body, "node labels set") {
		t.Error("object=web shows the node's event")
	}
	r = b.get("/ui/events?kind=node&type=deleted")
	wantIn(t, "no match", r.body, "No events")

	sc, stop := openStreamAt(t, b, "/ui/stream?kind=service")
	defer stop()
	if _, err := e.d.LabelNode(e.ctx, e.root, "n1", map[string]string{"zone": "us"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.ScaleService(e.ctx, e.root, svc.ID, 3, 0); err != nil {
		t.Fatal(err)
	}
	typ, data := next(sc)
	if typ != "change" || !strings.Contains(data, `"kind":"service"`) {
		t.Errorf("the filtered stream sent %s %s first, want the service's change", typ, data)
	}
}

// openStreamAt opens the event stream at path (with its filter).
func openStreamAt(t *testing.T, b *browser, path string) (*bufio.Scanner, func()) {
	t.Helper()
	// A guard against a hung test, not a timed assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.e.srv.URL+path, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), ": wharf dashboard events") {
	}
	return sc, func() { cancel(); resp.Body.Close() }
}

// TestNodeDrain: removing a node with a container drains it first: it
// turns Terminating and its page is shown again.
func TestNodeDrain(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	c := api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Node: "n1"}}
	if err := e.st.Create(e.ctx, store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(e.admin)
	csrf := csrfOf(t, b.get("/ui/nodes/n1/remove").body)
	r := b.post("/ui/nodes/n1/remove", url.Values{"csrf": {csrf}, "confirm": {"alpha"}})
	wantCode(t, "drain", r, http.StatusSeeOther)
	if loc := r.hdr.Get("Location"); loc != "/ui/nodes/n1" {
		t.Errorf("drain went to %q, want the node's page", loc)
	}
	n, err := e.d.GetNode(e.ctx, e.root, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if n.State != api.NodeTerminating {
		t.Errorf("node state %s after a drain, want Terminating", n.State)
	}
	wantIn(t, "the draining node's page", b.get("/ui/nodes/n1").body, "Terminating")
}
