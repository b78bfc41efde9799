package apiserver

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store"
)

func TestBootstrap(t *testing.T) {
	st := store.New(testEtcd.Client, "/test/bootstrap-"+newID())
	dir := filepath.Join(t.TempDir(), "data")
	secret, created, err := Bootstrap(t.Context(), st, dir)
	if err != nil || !created || !strings.HasPrefix(secret, "wharf_") || len(secret) != len("wharf_")+52 {
		t.Fatalf("first Bootstrap: %q %v %v", secret, created, err)
	}
	path := filepath.Join(dir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != secret {
		t.Fatal("file does not hold the secret")
	}
	toks, _, err := store.ListAll[api.Token](t.Context(), st, store.KindTokens)
	if err != nil || len(toks) != 1 || !toks[0].Admin || toks[0].Hash != pki.HashSecret(secret) || strings.Contains(string(b), toks[0].Hash) {
		t.Fatalf("stored tokens: %+v %v", toks, err)
	}

	again, created, err := Bootstrap(t.Context(), st, dir)
	if err != nil || created || again != secret {
		t.Fatalf("second Bootstrap: %q %v %v", again, created, err)
	}
	if toks, _, _ := store.ListAll[api.Token](t.Context(), st, store.KindTokens); len(toks) != 1 {
		t.Fatalf("%d tokens after the second Bootstrap", len(toks))
	}
	// Another server's data dir, without the file: no secret, no new token.
	other, created, err := Bootstrap(t.Context(), st, t.TempDir())
	if err != nil || created || other != "" {
		t.Fatalf("Bootstrap elsewhere: %q %v %v", other, created, err)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"ci","admin":false}`, http.StatusCreated, &ro)
	if ro.Admin || ro.Role != "read-only" || ro.Hash != "" || !strings.HasPrefix(ro.Secret, "wharf_") || ro.Revision == 0 {
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
