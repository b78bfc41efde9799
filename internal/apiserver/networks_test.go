package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestNetworkRoutes: the network routes' status codes (created, listed
// with the default network first, inspected by name, refused when bad,
// overlapping, in use or default, removed), the action each records,
// and a read-only token refused on create and remove but not on reads.
func TestNetworkRoutes(t *testing.T) {
	e := newEnv(t)
	var n api.Network
	e.call("POST", "/v1/networks", `{"name":"back","subnet":"10.8.0.0/16"}`, http.StatusCreated, &n)
	if n.Name != "back" || n.Gateway != "10.8.0.1" || n.VNI == 0 {
		t.Fatalf("created %+v", n)
	}
	var l api.List[api.Network]
	e.call("GET", "/v1/networks", "", http.StatusOK, &l)
	if len(l.Items) != 2 || l.Items[0].Name != "default" || l.Items[1].Name != "back" {
		t.Fatalf("list: %+v", l)
	}
	var got api.Network
	e.call("GET", "/v1/networks/back", "", http.StatusOK, &got)
	if got.ID != n.ID {
		t.Errorf("inspect by name: %+v", got)
	}
	e.call("GET", "/v1/networks/"+n.ID, "", http.StatusOK, &got)
	for _, c := range []struct {
		method, path, body string
		want               int
		say                string
	}{
		{"POST", "/v1/networks", `{"name":"x","subnet":"10.8.1.0/24"}`, 409, `overlaps network \"back\"`},
		{"POST", "/v1/networks", `{"name":"default","subnet":"10.9.0.0/16"}`, 400, "default network"},
		{"POST", "/v1/networks", `{"name":"x","subnet":"nonsense"}`, 400, "CIDR"},
		{"POST", "/v1/networks", `{"name":"x","subnet":"10.9.0.0/16","vni":5}`, 400, "vni"},
		{"GET", "/v1/networks/nosuch", "", 404, `network \"nosuch\" not found`},
		{"DELETE", "/v1/networks/default", "", 400, "cannot be removed"},
	} {
		code, b := e.do(c.method, c.path, e.admin, c.body)
		if code != c.want || !strings.Contains(string(b), c.say) {
			t.Errorf("%s %s %s: %d %s, want %d saying %s", c.method, c.path, c.body, code, b, c.want, c.say)
		}
	}
	// A service that names a missing network: 400 naming it; one that
	// joins back keeps back from being removed.
	code, b := e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"command":["sleep","1"],"networks":["front"]}}`)
	if code != 400 || !strings.Contains(string(b), `network \"front\" does not exist`) || !strings.Contains(string(b), "wharf network create front") {
		t.Errorf("a service on a missing network: %d %s", code, b)
	}
	e.call("POST", "/v1/services", `{"name":"web","spec":{"command":["sleep","1"],"networks":["back"]}}`, http.StatusCreated, nil)
	if code, b := e.do("DELETE", "/v1/networks/back", e.admin, ""); code != 409 || !strings.Contains(string(b), "web") {
		t.Errorf("remove a network in use: %d %s", code, b)
	}
	e.call("DELETE", "/v1/services/web", "", http.StatusAccepted, nil)

	// A read-only token reads, but neither creates nor removes.
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"ro"}`, http.StatusCreated, &ro)
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v1/networks", "", 200},
		{"GET", "/v1/networks/back", "", 200},
		{"POST", "/v1/networks", `{"name":"ro-net","subnet":"10.30.0.0/16"}`, 403},
		{"DELETE", "/v1/networks/back", "", 403},
	} {
		if code, b := e.do(c.method, c.path, ro.Secret, c.body); code != c.want {
			t.Errorf("read-only token: %s %s: %d %s, want %d", c.method, c.path, code, b, c.want)
		}
	}
	// The audit trail names the network created.
	var acts api.List[api.Action]
	e.call("GET", "/v1/actions?limit=1000", "", http.StatusOK, &acts)
	found := false
	for _, a := range acts.Items {
		found = found || a.Method == "POST" && a.Object == n.ID && a.Status == http.StatusCreated
	}
	if !found {
		t.Errorf("no action for the network's creation: %+v", acts.Items)
	}
}
