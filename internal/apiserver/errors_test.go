package apiserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestErrorStatuses(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.cfg.MaxBodyBytes = 2048 })
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"viewer"}`, http.StatusCreated, &ro)
	svc := e.createService("web", 1)

	tests := []struct {
		name, method, path, token, body string
		hdr                             []string
		status                          int
		code, field, inMessage          string
	}{
		{name: "bad name", method: "POST", path: "/v1/services", body: `{"name":"Web_1","spec":{"image":"nginx"}}`,
			status: 400, code: api.CodeInvalid, field: "name"},
		{name: "replicas", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","replicas":10001}}`,
			status: 400, code: api.CodeInvalid, field: "spec.replicas"},
		{name: "ports on the exec driver", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"command":["x"],"ports":[{"container_port":80}]}}`,
			status: 400, code: api.CodeInvalid, field: "spec.ports"},
		{name: "port out of range", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","ports":[{"container_port":70000}]}}`,
			status: 400, code: api.CodeInvalid, field: "spec.ports[0].container_port"},
		{name: "bad protocol", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","ports":[{"container_port":80,"protocol":"sctp"}]}}`,
			status: 400, code: api.CodeInvalid, field: "spec.ports[0].protocol"},
		{name: "tiny memory limit", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","resources":{"memory_bytes":100}}}`,
			status: 400, code: api.CodeInvalid, field: "spec.resources.memory_bytes"},
		{name: "neither image nor command", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{}}`,
			status: 400, code: api.CodeInvalid, field: "spec.command"},
		{name: "bad tag", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","tags":["ok","=v"]}}`,
			status: 400, code: api.CodeInvalid, field: "spec.tags[1]"},
		{name: "bad strategy", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","strategy":"RANDOMLY"}}`,
			status: 400, code: api.CodeInvalid, field: "spec.strategy"},
		{name: "unknown field", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx"},"replica":3}`,
			status: 400, code: api.CodeInvalid, field: "replica", inMessage: "unknown field"},
		{name: "nested unknown field", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"imag":"nginx"}}`,
			status: 400, code: api.CodeInvalid, field: "spec.imag", inMessage: "unknown field"},
		{name: "wrong type", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx","replicas":"3"}}`,
			status: 400, code: api.CodeInvalid, field: "spec.replicas", inMessage: "integer"},
		{name: "malformed JSON", method: "POST", path: "/v1/services", body: `{"name":"a",}`,
			status: 400, code: api.CodeInvalid, inMessage: "malformed JSON"},
		{name: "truncated JSON", method: "POST", path: "/v1/services", body: `{"name":"a"`,
			status: 400, code: api.CodeInvalid, inMessage: "malformed JSON"},
		{name: "empty body", method: "POST", path: "/v1/services", body: ``,
			status: 400, code: api.CodeInvalid, inMessage: "empty"},
		{name: "not an object", method: "POST", path: "/v1/services", body: `[1,2]`,
			status: 400, code: api.CodeInvalid, inMessage: "JSON object"},
		{name: "trailing garbage", method: "POST", path: "/v1/services", body: `{"name":"a","spec":{"image":"nginx"}} x`,
			status: 400, code: api.CodeInvalid, inMessage: "more data"},
		{name: "bad limit", method: "GET", path: "/v1/services?limit=0", status: 400, code: api.CodeInvalid, field: "limit"},
		{name: "limit too big", method: "GET", path: "/v1/services?limit=1001", status: 400, code: api.CodeInvalid, field: "limit"},
		{name: "bad If-Match", method: "POST", path: "/v1/services/web/stop", hdr: []string{"If-Match", "abc"},
			status: 400, code: api.CodeInvalid, field: "If-Match"},
		{name: "bad since", method: "GET", path: "/v1/events?since=x.y", status: 400, code: api.CodeInvalid, field: "since"},
		{name: "missing token", method: "GET", path: "/v1/services", token: "-",
			status: 401, code: api.CodeUnauthorized, inMessage: "missing API token"},
		{name: "wrong token", method: "GET", path: "/v1/services", token: "wharf_nope",
			status: 401, code: api.CodeUnauthorized, inMessage: "wrong API token"},
		{name: "not bearer", method: "GET", path: "/v1/services", hdr: []string{"Authorization", "Basic eDp5"}, token: "-",
			status: 401, code: api.CodeUnauthorized, inMessage: "Bearer"},
		{name: "read-only POST", method: "POST", path: "/v1/services", token: ro.Secret, body: `{"name":"b","spec":{"image":"nginx"}}`,
			status: 403, code: api.CodeForbidden, inMessage: "read-only"},
		{name: "read-only token list", method: "GET", path: "/v1/tokens", token: ro.Secret,
			status: 403, code: api.CodeForbidden},
		{name: "no such service", method: "GET", path: "/v1/services/nope", status: 404, code: api.CodeNotFound, inMessage: `"nope"`},
		{name: "no such node", method: "GET", path: "/v1/nodes/nope", status: 404, code: api.CodeNotFound},
		{name: "no such path", method: "GET", path: "/v1/nothing", status: 404, code: api.CodeNotFound},
		{name: "duplicate name", method: "POST", path: "/v1/services", body: `{"name":"web","spec":{"image":"nginx"}}`,
			status: 409, code: api.CodeConflict, inMessage: `"web"`},
		{name: "stale If-Match", method: "POST", path: "/v1/services/web/scale", body: `{"replicas":3}`,
			hdr: []string{"If-Match", fmt.Sprint(svc.Revision - 1)}, status: 409, code: api.CodeConflict, inMessage: "revision"},
		{name: "stale body revision", method: "POST", path: "/v1/services/" + svc.ID + "/scale",
			body: fmt.Sprintf(`{"replicas":3,"revision":%d}`, svc.Revision-1), status: 409, code: api.CodeConflict},
		{name: "too large", method: "POST", path: "/v1/services",
			body:   `{"name":"big","spec":{"image":"nginx","env":{"X":"` + strings.Repeat("x", 4000) + `"}}}`,
			status: 413, code: api.CodeTooLarge, inMessage: "2048 bytes"},
		{name: "method", method: "PUT", path: "/v1/services", status: 405, code: api.CodeMethod, inMessage: "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token
			switch tok {
			case "":
				tok = e.admin
			case "-":
				tok = ""
			}
			code, b := e.do(tc.method, tc.path, tok, tc.body, tc.hdr...)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, b)
			}
			d := errDetail(t, b)
			if d.Code != tc.code || d.Field != tc.field || !strings.Contains(d.Message, tc.inMessage) {
				t.Fatalf("error %+v, want code %q field %q message containing %q", d, tc.code, tc.field, tc.inMessage)
			}
		})
	}
}
