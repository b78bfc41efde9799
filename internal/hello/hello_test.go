package hello

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerCountsAndNames(t *testing.T) {
	t.Setenv("WHARF_CONTAINER_NAME", "web-3")
	t.Setenv("WHARF_NODE", "node-1")
	h := Handler()
	for i := 1; i <= 2; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		want := "Hello from web-3 on node node-1 (request " + string(rune('0'+i)) + ")"
		if !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("answer %d = %q, want it to contain %q", i, rec.Body.String(), want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?format=json", nil))
	var r Reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Container != "web-3" || r.Node != "node-1" || r.Requests != 3 {
		t.Fatalf("json reply = %+v", r)
	}
}
