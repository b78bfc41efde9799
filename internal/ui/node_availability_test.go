package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func (e *env) availability(id string) api.NodeAvailability {
	e.t.Helper()
	n, err := e.d.GetNode(e.ctx, e.root, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return n.Available()
}

// TestNodeAvailability: the node page drains, pauses and activates the
// node, and says which it is; the nodes list shows it; an unknown
// availability and a form without its token are refused.
func TestNodeAvailability(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	b := e.signedIn(e.admin)
	page := b.get("/ui/nodes/n1")
	wantIn(t, "node page", page.body, "/ui/nodes/n1/availability", `value="drain"`, `value="pause"`, ">Drain<", "Active: containers may be placed here.")
	if strings.Contains(page.body, `value="active"`) {
		t.Error("an active node's page offers Activate")
	}
	csrf := csrfOf(t, page.body)
	post := func(to string) response {
		return b.post("/ui/nodes/n1/availability", url.Values{"csrf": {csrf}, "availability": {to}})
	}
	wantCode(t, "drain", post("drain"), http.StatusSeeOther)
	if got := e.availability("n1"); got != api.AvailabilityDrain {
		t.Fatalf("after Drain: %s", got)
	}
	page = b.get("/ui/nodes/n1")
	wantIn(t, "drained node page", page.body, "Draining: nothing new is placed here", `value="active"`, ">Activate<", ">drain</span>")
	wantIn(t, "nodes list", b.get("/ui/nodes").body, "<th scope=\"col\">Availability</th>", ">drain</span>")

	r := post("off")
	wantCode(t, "an unknown availability", r, http.StatusBadRequest)
	wantIn(t, "an unknown availability", r.body, "active, pause or drain")
	wantCode(t, "no form token", b.post("/ui/nodes/n1/availability", url.Values{"availability": {"active"}}), http.StatusForbidden)
	if got := e.availability("n1"); got != api.AvailabilityDrain {
		t.Fatalf("after refusals: %s", got)
	}
	wantCode(t, "activate", post("active"), http.StatusSeeOther)
	if got := e.availability("n1"); got != api.AvailabilityActive {
		t.Fatalf("after Activate: %s", got)
	}
	wantIn(t, "nodes list", b.get("/ui/nodes").body, ">active</span>")
}

// TestNodeAvailabilityReadOnly: a read-only user sees the availability
// but no buttons, and the domain layer refuses the form forged with the
// session's own token.
func TestNodeAvailabilityReadOnly(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	b := e.signedIn(e.token("viewer", api.RoleReadOnly))
	page := b.get("/ui/nodes/n1")
	wantIn(t, "read-only node page", page.body, "Availability", ">active</span>")
	for _, s := range []string{"/availability", ">Drain<", ">Pause<"} {
		if strings.Contains(page.body, s) {
			t.Errorf("the read-only node page offers %q", s)
		}
	}
	r := b.post("/ui/nodes/n1/availability", url.Values{"csrf": {csrfOf(t, page.body)}, "availability": {"drain"}})
	wantCode(t, "read-only drain", r, http.StatusForbidden)
	if got := e.availability("n1"); got != api.AvailabilityActive {
		t.Errorf("availability %s after a refused POST", got)
	}
}

// TestNodeAvailabilityWhileRemoved: a node being removed offers no
// availability button and says it is being removed.
func TestNodeAvailabilityWhileRemoved(t *testing.T) {
	e := newEnv(t)
	e.addNode("n1", "alpha")
	c := api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Node: "n1"}}
	if err := e.st.Create(e.ctx, store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
	if _, removed, err := e.d.RemoveNode(e.ctx, e.root, "n1", false, 0); err != nil || removed {
		t.Fatalf("remove: %v %v", removed, err)
	}
	page := e.signedIn(e.admin).get("/ui/nodes/n1").body
	wantIn(t, "a node being removed", page, "Being removed: its containers move to other nodes")
	if strings.Contains(page, "/availability") {
		t.Error("a node being removed offers availability buttons")
	}
}
