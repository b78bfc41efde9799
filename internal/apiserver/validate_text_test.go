package apiserver

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/hostile"
)

// TestControlCharactersInNamesAreRefused sends every terminal escape
// payload where the API expects a name, a label or a short value: each is
// a 400 naming the field, and its message carries no raw control character.
func TestControlCharactersInNamesAreRefused(t *testing.T) {
	e := newEnv(t)
	e.createService("web", 1)
	putNode(t, e, "n1")
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, p := range hostile.Payloads {
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/v1/services", `{"name":` + q("web"+p) + `,"spec":{"command":["true"]}}`, "name"},
			{"POST", "/v1/services", `{"name":"a","spec":{"image":"nginx","labels":{"team":` + q(p) + `}}}`, "spec.labels.team"},
			{"POST", "/v1/services", `{"name":"a","spec":{"image":"nginx","labels":{` + q("k"+p) + `:"v"}}}`, "spec.labels"},
			{"POST", "/v1/services", `{"name":"a","spec":{"command":["true"],"env":{` + q("A"+p) + `:"v"}}}`, "spec.env"},
			{"POST", "/v1/services", `{"name":"a","spec":{"command":["true"],"tags":[` + q("zone="+p) + `]}}`, "spec.tags[0]"},
			{"POST", "/v1/services", `{"name":"a","spec":{"command":["true"],"constraints":[` + q("node.labels.zone=="+p) + `]}}`, "spec.constraints[0]"},
			{"POST", "/v1/services", `{"name":"a","spec":{"image":"nginx","volumes":[{"type":"volume","source":` + q("d"+p) + `,"target":"/d"}]}}`, "spec.volumes[0].source"},
			{"PATCH", "/v1/nodes/n1", `{"labels":{"zone":` + q(p) + `}}`, "labels.zone"},
			{"POST", "/v1/tokens", `{"name":` + q("ci"+p) + `}`, "name"},
			{"PUT", "/v1/stacks/s", `{"spec":{"services":[{"name":` + q("a"+p) + `,"spec":{"command":["true"]}}]}}`, "spec.services[0].name"},
			{"PUT", "/v1/stacks/s", `{"spec":{"services":[{"name":"a","spec":{"image":"nginx","labels":{"k":` + q(p) + `}}}]}}`, "spec.services[0].spec.labels.k"},
		} {
			code, b := e.do(c.method, c.path, e.admin, c.body)
			if code != http.StatusBadRequest {
				t.Errorf("%s %s with %q: %d %s, want 400", c.method, c.path, p, code, b)
				continue
			}
			d := errDetail(t, b)
			if d.Field != c.field || hostile.Raw(d.Message, false) {
				t.Errorf("%s %s with %q: field %q message %q; want field %q and no raw control character", c.method, c.path, p, d.Field, d.Message, c.field)
			}
		}
	}
}
