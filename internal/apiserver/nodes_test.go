package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func putNode(t *testing.T, e *env, id string) {
	t.Helper()
	putNamedNode(t, e, id, "")
}

func putNamedNode(t *testing.T, e *env, id, name string) {
	t.Helper()
	n := api.Node{Meta: api.Meta{ID: id, Name: name}, Hostname: "host-" + id, State: api.NodeDeployed}
	if err := e.st.Create(t.Context(), store.KindNodes, &n); err != nil {
		t.Fatal(err)
	}
}

func putContainer(t *testing.T, e *env, id, name, service string, slot int, node string) {
	t.Helper()
	c := api.Container{Meta: api.Meta{ID: id, Name: name},
		Spec: api.ContainerSpec{Service: service, Slot: slot, Node: node, Driver: "exec", Desired: api.ContainerRunning}}
	if err := e.st.Create(t.Context(), store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
}

// TestNodesByName: a node is named by its ID or, when that is unique, by
// its name, as `wharf node ls` shows it.
func TestNodesByName(t *testing.T) {
	e := newEnv(t)
	putNamedNode(t, e, "a1", "db-host")
	putNamedNode(t, e, "b1", "web")
	putNamedNode(t, e, "b2", "web")
	var n api.Node
	e.call("GET", "/v1/nodes/db-host", "", 200, &n)
	if n.ID != "a1" {
		t.Fatalf("by name: %+v", n)
	}
	e.call("PATCH", "/v1/nodes/db-host", `{"labels":{"zone":"a"}}`, 200, &n)
	if n.ID != "a1" || n.Labels["zone"] != "a" {
		t.Fatalf("patched by name: %+v", n)
	}
	code, b := e.do("PATCH", "/v1/nodes/web", e.admin, `{"labels":{"zone":"a"}}`)
	if msg := errDetail(t, b).Message; code != http.StatusConflict || !strings.Contains(msg, "b1, b2") {
		t.Fatalf("a name two nodes share: %d %s", code, b)
	}
	e.call("GET", "/v1/nodes/nope", "", 404, nil)
	e.call("DELETE", "/v1/nodes/db-host", "", 200, &n)
	if n.ID != "a1" || n.State != api.NodeTerminated {
		t.Fatalf("deleted by name: %+v", n)
	}
	var acts api.List[api.Action]
	e.call("GET", "/v1/actions", "", 200, &acts)
	found := false
	for _, a := range acts.Items {
		found = found || (a.Method == "DELETE" && a.Object == "a1")
	}
	if !found {
		t.Fatalf("the action names the node's ID: %+v", acts.Items)
	}
}

func TestNodes(t *testing.T) {
	e := newEnv(t)
	putNode(t, e, "n1")
	putNode(t, e, "n2")
	var l api.List[api.Node]
	e.call("GET", "/v1/nodes", "", 200, &l)
	if len(l.Items) != 2 {
		t.Fatalf("nodes: %+v", l)
	}
	var n api.Node
	e.call("PATCH", "/v1/nodes/n1", `{"labels":{"zone":"a","ssd":""}}`, 200, &n)
	if n.Labels["zone"] != "a" || len(n.Labels) != 2 || n.Revision == 0 {
		t.Fatalf("patched: %+v", n)
	}
	code, b := e.do("PATCH", "/v1/nodes/n1", e.admin, `{"labels":{"x":"1"}}`, "If-Match", "1")
	if code != http.StatusConflict {
		t.Fatalf("stale PATCH: %d %s", code, b)
	}
	code, b = e.do("PATCH", "/v1/nodes/n1", e.admin, `{"labels":{"bad key":"1"}}`)
	if code != 400 || errDetail(t, b).Field != "labels.bad key" {
		t.Fatalf("bad label: %d %s", code, b)
	}
	code, _ = e.do("PATCH", "/v1/nodes/zz", e.admin, `{"labels":{}}`)
	if code != 404 {
		t.Fatalf("PATCH unknown node: %d", code)
	}

	// Availability: set, shown, refused when unknown or sent with labels.
	var dn api.Node
	e.call("PATCH", "/v1/nodes/n2", `{"availability":"drain"}`, 200, &dn)
	if dn.Availability != api.AvailabilityDrain || dn.Labels != nil {
		t.Fatalf("drained: %+v", dn)
	}
	e.call("GET", "/v1/nodes/n2", "", 200, &n)
	if n.Availability != api.AvailabilityDrain {
		t.Fatalf("GET a drained node: %+v", n)
	}
	code, b = e.do("PATCH", "/v1/nodes/n2", e.admin, `{"availability":"off"}`)
	if code != 400 || errDetail(t, b).Field != "availability" || !strings.Contains(string(b), "active, pause or drain") {
		t.Fatalf("unknown availability: %d %s", code, b)
	}
	code, b = e.do("PATCH", "/v1/nodes/n2", e.admin, `{"availability":"active","labels":{}}`)
	if code != 400 || !strings.Contains(string(b), "two requests") {
		t.Fatalf("availability and labels: %d %s", code, b)
	}
	e.call("PATCH", "/v1/nodes/n2", `{"availability":"active"}`, 200, &n)
	if n.Availability != api.AvailabilityActive {
		t.Fatalf("activated: %+v", n)
	}

	// A node with containers is drained: Terminating, 202; asking again
	// changes nothing; --force deletes it at once.
	putContainer(t, e, "c1", "web-1", "s1", 1, "n1")
	e.call("DELETE", "/v1/nodes/n1", "", http.StatusAccepted, &n)
	if n.State != api.NodeTerminating {
		t.Fatalf("drained node: %+v", n)
	}
	e.call("DELETE", "/v1/nodes/n1", "", http.StatusAccepted, &n)
	e.call("GET", "/v1/nodes/n1", "", 200, &n)
	if n.State != api.NodeTerminating {
		t.Fatalf("node after drain request: %+v", n)
	}
	code, b = e.do("DELETE", "/v1/nodes/n1?force=maybe", e.admin, "")
	if code != 400 || errDetail(t, b).Field != "force" {
		t.Fatalf("bad force: %d %s", code, b)
	}
	e.call("DELETE", "/v1/nodes/n2", "", 200, &n)
	if n.State != api.NodeTerminated {
		t.Fatalf("deleted node: %+v", n)
	}
	e.call("GET", "/v1/nodes/n2", "", 404, nil)
	e.call("DELETE", "/v1/nodes/n1?force=1", "", 200, &n)
	if n.State != api.NodeTerminated {
		t.Fatalf("force-deleted node: %+v", n)
	}
	e.call("GET", "/v1/nodes/n1", "", 404, nil)

	var evs api.List[api.Event]
	e.call("GET", "/v1/events", "", 200, &evs)
	var kinds []string
	for _, ev := range evs.Items {
		if ev.Kind == "node" {
			kinds = append(kinds, ev.Object+" "+ev.Type+" "+ev.State)
		}
	}
	if strings.Join(kinds, ",") != "n1 updated ,n2 availability drain,n2 availability active,n1 state Terminating,n2 deleted Terminated,n1 deleted Terminated" {
		t.Fatalf("node events: %q", kinds)
	}
}
