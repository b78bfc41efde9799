package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

func TestTokens(t *testing.T) {
	e := newEnv(t)
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"ci","admin":false}`, http.StatusCreated, &ro)
	if ro.Admin || ro.Role != "read-only" || !strings.HasPrefix(ro.Secret, "wharf_") || ro.Revision == 0 {
		t.Fatalf("created: %+v", ro)
	}
	code, b := e.do("GET", "/v1/tokens", e.admin, "")
	if code != 200 || strings.Contains(string(b), `"hash"`) || strings.Contains(string(b), pki.HashSecret(ro.Secret)) {
		t.Fatalf("token list leaks hashes or fails: %d %s", code, b)
	}
	if code, b := e.do("GET", "/v1/services", ro.Secret, ""); code != 200 {
		t.Fatalf("read-only GET: %d %s", code, b)
	}
	e.call("DELETE", "/v1/tokens/"+ro.ID, "", http.StatusNoContent, nil)
	code, b = e.do("GET", "/v1/services", ro.Secret, "")
	if code != http.StatusUnauthorized || !strings.Contains(errDetail(t, b).Message, "wrong API token") {
		t.Fatalf("deleted token: %d %s", code, b)
	}
	e.call("DELETE", "/v1/tokens/"+ro.ID, "", http.StatusNotFound, nil)

	// The last admin token stays.
	var l api.List[api.Token]
	e.call("GET", "/v1/tokens", "", 200, &l)
	if len(l.Items) != 1 {
		t.Fatalf("tokens: %+v", l.Items)
	}
	code, b = e.do("DELETE", "/v1/tokens/"+l.Items[0].ID, e.admin, "")
	if code != http.StatusConflict {
		t.Fatalf("deleting the last admin token: %d %s", code, b)
	}
}

func TestActions(t *testing.T) {
	e := newEnv(t)
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"viewer"}`, http.StatusCreated, &ro)
	svc := e.createService("web", 1)
	e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"image":"x"}}`) // 409
	e.do("POST", "/v1/services/web/stop", ro.Secret, "")                         // 403
	e.do("GET", "/v1/services", e.admin, "")                                     // not recorded
	e.do("POST", "/v1/services", "", `{}`)                                       // 401: nobody to record

	var l api.List[api.Action]
	e.call("GET", "/v1/actions", "", 200, &l)
	type row struct{ who, method, path, kind, object, result string }
	var got []row
	for _, a := range l.Items {
		if a.Status == 0 || a.Started.IsZero() || a.Duration < 0 {
			t.Fatalf("action %+v", a)
		}
		if (a.Result == "Failed") != (a.Error != "") {
			t.Fatalf("action %+v: result and error disagree", a)
		}
		got = append(got, row{a.Who, a.Method, a.Path, a.Kind, a.Object, a.Result})
	}
	want := []row{
		{"admin", "POST", "/v1/tokens", "token", ro.ID, "Success"},
		{"admin", "POST", "/v1/services", "service", svc.ID, "Success"},
		{"admin", "POST", "/v1/services", "service", l.Items[2].Object, "Failed"},
		{"viewer", "POST", "/v1/services/web/stop", "service", "web", "Failed"},
	}
	if len(got) != len(want) {
		t.Fatalf("actions:\n%+v\nwant\n%+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("action %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if l.Items[2].Status != 409 || !strings.Contains(l.Items[2].Error, `"web"`) || l.Items[3].Status != 403 {
		t.Fatalf("failed actions: %+v", l.Items[2:])
	}
}

// TestNoHashOnTheWire: a created token, a created join token and both
// lists never carry a "hash", though the store keeps one for each.
func TestNoHashOnTheWire(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/tokens", `{"name":"ci","role":"deploy"}`},
		{"POST", "/v1/join-tokens", `{}`},
		{"GET", "/v1/tokens", ""},
		{"GET", "/v1/join-tokens", ""},
	} {
		code, b := e.do(c.method, c.path, e.admin, c.body)
		if code/100 != 2 || strings.Contains(string(b), `"hash"`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, code, b)
		}
	}
}
