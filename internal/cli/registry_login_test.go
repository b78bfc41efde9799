package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestRegistryCommands: login sends the host, user and the password read
// from standard input (never a flag), ls prints hosts and users, logout
// names the host; service create and update send --pull as pull_policy.
func TestRegistryCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var (
		mu    sync.Mutex
		login api.RegistryLoginRequest
		calls []string
		specs []map[string]any
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.EscapedPath())
		switch {
		case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/registry/logins/"):
			_ = json.NewDecoder(r.Body).Decode(&login)
			_ = json.NewEncoder(w).Encode(api.RegistryLogin{Host: strings.TrimPrefix(r.URL.Path, "/v1/registry/logins/"), Username: login.Username})
		case r.Method == "GET" && r.URL.Path == "/v1/registry/logins":
			_ = json.NewEncoder(w).Encode([]api.RegistryLogin{{Host: "reg.example:5000", Username: "ci"}})
		case r.Method == "DELETE":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == "POST" && r.URL.Path == "/v1/services", r.Method == "PATCH":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			specs = append(specs, body)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(api.Service{Meta: api.Meta{ID: "s1", Name: "web"}})
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/services/"):
			_ = json.NewEncoder(w).Encode(api.Service{Meta: api.Meta{ID: "s1", Name: "web"}, Spec: api.ServiceSpec{Image: "x"}})
		default:
			http.Error(w, "unexpected", http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	conn := []string{"--addr", srv.URL, "--token", "t"}

	out, errOut, err := runCLIIn(t, "pw-from-stdin\n", append([]string{"registry", "login", "reg.example:5000", "-u", "ci", "--password-stdin"}, conn...)...)
	if err != nil || !strings.Contains(out, "credential for reg.example:5000 (user ci) stored") {
		t.Fatalf("login: %q %q %v", out, errOut, err)
	}
	if login.Username != "ci" || login.Password != "pw-from-stdin" {
		t.Errorf("login sent %+v", login)
	}
	if strings.Contains(out+errOut, "pw-from-stdin") {
		t.Errorf("login printed the password")
	}
	if _, _, err := runCLIIn(t, "", append([]string{"registry", "login", "reg.example:5000", "-u", "ci"}, conn...)...); err == nil || !strings.Contains(err.Error(), "no password on standard input") {
		t.Errorf("login without a password: %v", err)
	}
	if _, _, err := runCLIIn(t, "pw\n", append([]string{"registry", "login", "reg.example:5000"}, conn...)...); err == nil || !strings.Contains(err.Error(), "a user is required") {
		t.Errorf("login without a user: %v", err)
	}
	out, _, err = runCLI(t, append([]string{"registry", "ls"}, conn...)...)
	if err != nil || !strings.Contains(out, "reg.example:5000") || !strings.Contains(out, "ci") {
		t.Errorf("ls: %q %v", out, err)
	}
	if out, _, err = runCLI(t, append([]string{"registry", "logout", "reg.example:5000"}, conn...)...); err != nil || !strings.Contains(out, "removed") {
		t.Errorf("logout: %q %v", out, err)
	}
	if _, _, err := runCLI(t, append([]string{"service", "create", "--name", "web", "--image", "x", "--pull", "never", "--detach"}, conn...)...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, append([]string{"service", "update", "web", "--pull", "always", "--detach"}, conn...)...); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(specs) != 2 || specs[0]["spec"].(map[string]any)["pull_policy"] != "never" || specs[1]["spec"].(map[string]any)["pull_policy"] != "always" {
		t.Errorf("service bodies %v", specs)
	}
	if !strings.Contains(strings.Join(calls, ","), "DELETE /v1/registry/logins/reg.example:5000") {
		t.Errorf("calls %v", calls)
	}
}
