package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestRoutesRoute: GET /v1/routes answers the organization's routes as
// the router sees them (a read-only token may read them), and a service
// with a bad route is refused with 400 naming the field.
func TestRoutesRoute(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/v1/services", `{"name":"web","spec":{"command":["sleep","1"],"routes":[{"host":"a.io","path":"/api"}]}}`, http.StatusCreated, nil)
	code, b := e.do("POST", "/v1/services", e.admin, `{"name":"bad","spec":{"command":["sleep","1"],"env":{"TCP_PORTS":"2222/ssl"}}}`)
	if code != 400 || !strings.Contains(string(b), `"field":"spec.env.TCP_PORTS"`) || !strings.Contains(string(b), "/ssl") {
		t.Errorf("a service with TCP_PORTS 2222/ssl: %d %s", code, b)
	}
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"plain"}`, http.StatusCreated, &ro)
	code, b = e.do("GET", "/v1/routes", ro.Secret, "")
	var st api.RouterStatus
	if code != 200 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("GET /v1/routes: %d %s", code, b)
	}
	if st.Nodes == nil || len(st.Routes) != 1 || st.Routes[0].Service != "web" || st.Routes[0].Route != "a.io/api" || st.Routes[0].Problem != "no container is ready" {
		t.Errorf("status %s", b)
	}
	if code, _ := e.do("GET", "/v1/routes", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
}
