package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestStackDeploySecrets: deploy creates the stack's missing secrets as
// <stack>_<name> from the files, before the stack, keeps existing ones,
// requires external ones, and the services refer to the Wharf names; a
// dry run creates nothing.
func TestStackDeploySecrets(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	yml := "name: shop\nservices:\n  web:\n    image: nginx\n    secrets: [pw, key]\n" +
		"secrets:\n  pw:\n    file: ./pw.txt\n  key:\n    external: true\n    name: prod_key\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		calls   []string
		secrets = map[string][]byte{"prod_key": []byte("x")}
		deploy  api.DeployStackRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		switch {
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/secrets/"):
			name := strings.TrimPrefix(r.URL.Path, "/v1/secrets/")
			if _, ok := secrets[name]; !ok {
				w.WriteHeader(http.StatusNotFound)
				_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeNotFound, Message: "not found"}})
				return
			}
			_ = json.NewEncoder(w).Encode(api.Secret{Meta: api.Meta{ID: "id-" + name, Name: name}})
		case r.Method == "POST" && r.URL.Path == "/v1/secrets":
			var req api.SecretRequest
			_ = json.NewDecoder(r.Body).Decode(&req)
			secrets[req.Name] = req.Data
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(api.Secret{Meta: api.Meta{ID: "id-" + req.Name, Name: req.Name}})
		case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/stacks/"):
			_ = json.NewDecoder(r.Body).Decode(&deploy)
			_ = json.NewEncoder(w).Encode(api.DeployStackResult{DryRun: deploy.DryRun})
		default:
			http.Error(w, "unexpected", http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	conn := []string{"--addr", srv.URL, "--token", "t"}

	_, errOut, err := runCLI(t, append([]string{"stack", "deploy", "-f", file, "--dry-run"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, made := secrets["shop_pw"]; made || !strings.Contains(errOut, "secret shop_pw would be created") {
		t.Fatalf("dry run: stderr %q, secrets %v", errOut, secrets)
	}
	calls = nil
	if _, _, err := runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...); err != nil {
		t.Fatal(err)
	}
	if string(secrets["shop_pw"]) != "s3cret" {
		t.Fatalf("secrets %q", secrets)
	}
	if last := calls[len(calls)-1]; last != "PUT /v1/stacks/shop" {
		t.Fatalf("calls %v: the stack is not deployed after its secrets", calls)
	}
	refs := deploy.Spec.Services[0].Spec.Secrets
	if len(refs) != 2 || refs[0] != (api.SecretRef{Source: "shop_pw", Target: "pw"}) || refs[1] != (api.SecretRef{Source: "prod_key", Target: "key"}) {
		t.Fatalf("refs %+v", refs)
	}
	// Again: the secret exists and keeps its value.
	calls = nil
	_, errOut, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err != nil || !strings.Contains(errOut, "secret shop_pw exists; its value is kept") || strings.Contains(strings.Join(calls, " "), "POST") {
		t.Fatalf("redeploy: %v %q %v", err, errOut, calls)
	}
	// A missing external secret stops the deploy before the stack.
	delete(secrets, "prod_key")
	calls = nil
	_, _, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "prod_key") || strings.Contains(strings.Join(calls, " "), "PUT") {
		t.Fatalf("missing external: %v %v", err, calls)
	}
}
