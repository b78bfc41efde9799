package apiserver

import (
	"net/http"
	"strings"
	"testing"
)

// TestPrivilegedRequestsRefused: the API has no way to ask for a
// privileged container, host namespaces, capabilities or devices: such a
// field is unknown and refused, naming it, rather than ignored. (Network
// mode host is a field, which each node's agent refuses unless it was
// started with --allow-host-network: see the agent's tests.)
func TestPrivilegedRequestsRefused(t *testing.T) {
	e := newEnv(t)
	for _, field := range []string{`"privileged":true`, `"pid":"host"`, `"ipc":"host"`,
		`"cap_add":["SYS_ADMIN"]`, `"devices":["/dev/sda"]`, `"security_opt":["no-new-privileges:false"]`, `"user":"root"`} {
		body := `{"name":"p","spec":{"image":"x",` + field + `}}`
		code, b := e.do("POST", "/v1/services", e.admin, body)
		name := strings.Trim(strings.SplitN(field, ":", 2)[0], `"`)
		if code != http.StatusBadRequest || !strings.Contains(string(b), name) {
			t.Errorf("%s: %d %s; want 400 naming the field", field, code, b)
		}
	}
}
