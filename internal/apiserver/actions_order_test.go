package apiserver

import (
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestActionsNewestFirst: ?order=newest lists the audit trail newest
// first, its cursor leading to older actions; the default stays oldest
// first; another order is a 400 naming the field.
func TestActionsNewestFirst(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"one", "two", "three"} {
		if code, b := e.do("POST", "/v1/tokens", e.admin, `{"name":"`+name+`"}`); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("create token %s: %d %s", name, code, b)
		}
	}
	type page struct {
		Items []api.Action `json:"items"`
		Next  string       `json:"next"`
	}
	var oldest, newest, older page
	e.call("GET", "/v1/actions", "", http.StatusOK, &oldest)
	e.call("GET", "/v1/actions?order=newest&limit=2", "", http.StatusOK, &newest)
	if len(oldest.Items) < 3 || len(newest.Items) != 2 || newest.Next == "" {
		t.Fatalf("oldest first: %d actions; newest first, 2 a page: %d, next %q", len(oldest.Items), len(newest.Items), newest.Next)
	}
	last := oldest.Items[len(oldest.Items)-1]
	if newest.Items[0].ID != last.ID || newest.Items[1].ID != oldest.Items[len(oldest.Items)-2].ID {
		t.Fatalf("newest first starts with %s, %s; want %s, %s", newest.Items[0].ID, newest.Items[1].ID, last.ID, oldest.Items[len(oldest.Items)-2].ID)
	}
	e.call("GET", "/v1/actions?order=newest&limit=2&cursor="+newest.Next, "", http.StatusOK, &older)
	if len(older.Items) == 0 || older.Items[0].ID != oldest.Items[len(oldest.Items)-3].ID {
		t.Fatalf("the older page: %+v", older.Items)
	}
	if code, b := e.do("GET", "/v1/actions?order=sideways", e.admin, ""); code != http.StatusBadRequest {
		t.Fatalf("a bad order: %d %s", code, b)
	}
}
