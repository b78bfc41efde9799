package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestActionKeepsBoundedEcho: a bad request whose error echoes a huge value
// (found by test/flood) is recorded with its path, object and error cut to
// maxActionField, so audit records cannot grow to a body's size.
func TestActionKeepsBoundedEcho(t *testing.T) {
	e := newEnv(t)
	huge := strings.Repeat("a", 300_000)
	if code, b := e.do("POST", "/v1/tokens", e.admin, `{"name":"`+huge+`"}`); code != http.StatusBadRequest {
		t.Fatalf("POST /v1/tokens with a huge name: %d %.200s", code, b)
	}
	long := strings.Repeat("b", 5000)
	if code, b := e.do("PATCH", "/v1/services/"+long, e.admin, `{"spec":{"replicas":1}}`); code != http.StatusNotFound {
		t.Fatalf("PATCH a service with a long name: %d %.200s", code, b)
	}
	var page struct {
		Items []api.Action `json:"items"`
	}
	e.call("GET", "/v1/actions", "", http.StatusOK, &page)
	if len(page.Items) < 2 {
		t.Fatalf("%d actions recorded, want at least 2", len(page.Items))
	}
	bound := maxActionField + len("... (1000000 more bytes)")
	for _, a := range page.Items {
		for field, v := range map[string]string{"path": a.Path, "object": a.Object, "error": a.Error} {
			if len(v) > bound {
				t.Errorf("action %s %s: %s has %d bytes, want at most %d", a.Method, a.Path[:min(40, len(a.Path))], field, len(v), bound)
			}
		}
	}
	if last := page.Items[len(page.Items)-1]; !strings.Contains(last.Path, "more bytes") || last.Status != http.StatusNotFound {
		t.Errorf("last action: path %.60q..., status %d: want a cut path and 404", last.Path, last.Status)
	}
}
