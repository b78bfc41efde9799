package apiserver

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// The raw list path must answer exactly what decoding each object would.
func TestRawListMatchesObjects(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.createService(n, 2)
	}
	var page api.List[api.Service]
	e.call(http.MethodGet, "/v1/services?limit=2", "", http.StatusOK, &page)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("page = %d items, next %q", len(page.Items), page.Next)
	}
	var rest api.List[api.Service]
	e.call(http.MethodGet, "/v1/services?limit=2&cursor="+page.Next, "", http.StatusOK, &rest)
	if len(rest.Items) != 1 || rest.Next != "" {
		t.Fatalf("second page = %d items, next %q", len(rest.Items), rest.Next)
	}
	for _, listed := range append(page.Items, rest.Items...) {
		var one api.Service
		e.call(http.MethodGet, "/v1/services/"+listed.ID, "", http.StatusOK, &one)
		if one.Revision == 0 || !reflect.DeepEqual(one, listed) {
			t.Fatalf("listed %+v\n got one %+v", listed, one)
		}
	}
	var empty api.List[api.Node]
	e.call(http.MethodGet, "/v1/nodes", "", http.StatusOK, &empty)
	if empty.Items == nil || len(empty.Items) != 0 {
		t.Fatalf("an empty list must be [] not null: %+v", empty)
	}
}
