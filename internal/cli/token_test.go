package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// fakeTokenServer answers POST /v1/tokens as the server does (read-only
// unless asked otherwise) and records the request body.
func fakeTokenServer(t *testing.T, got *map[string]any) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = map[string]any{}
		if err := json.NewDecoder(r.Body).Decode(got); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		role, _ := (*got)["role"].(string)
		admin, _ := (*got)["admin"].(bool)
		if admin {
			role = api.RoleAdmin
		}
		if role == "" {
			role = api.RoleReadOnly
		}
		name, _ := (*got)["name"].(string)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(api.TokenCreated{Token: api.Token{Meta: api.Meta{Name: name}, Role: role, Admin: role == api.RoleAdmin}, Secret: "wharf_secret"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestTokenCreateLeastPrivilege: `wharf token create NAME` asks for a
// read-only token and says so; --role asks for more; the secret alone is
// on stdout, for scripts.
func TestTokenCreateLeastPrivilege(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var got map[string]any
	srv := fakeTokenServer(t, &got)
	conn := []string{"--addr", srv.URL, "--token", "t"}

	out, errOut, err := runCLI(t, append([]string{"token", "create", "ci"}, conn...)...)
	if err != nil || got["admin"] == true || got["role"] != api.RoleReadOnly {
		t.Fatalf("token create ci: sent %v, err %v; want a read-only token asked for", got, err)
	}
	if out != "wharf_secret\n" || errOut != "created read-only token ci\n" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	for _, role := range []string{api.RoleDeploy, api.RoleAdmin} {
		_, errOut, err := runCLI(t, append([]string{"token", "create", "ci", "--role", role}, conn...)...)
		if err != nil || got["role"] != role || errOut != "created "+role+" token ci\n" {
			t.Errorf("--role %s: sent %v, stderr %q, err %v", role, got, errOut, err)
		}
	}
	for _, bad := range [][]string{{"--role", "root"}, {"--read-only", "--role", "admin"}} {
		got = nil
		_, _, err := runCLI(t, append(append([]string{"token", "create", "ci"}, bad...), conn...)...)
		if err == nil || !strings.Contains(err.Error(), "--role") || got != nil {
			t.Errorf("%v: err %v, sent %v; want an error naming --role and nothing sent", bad, err, got)
		}
	}
}
