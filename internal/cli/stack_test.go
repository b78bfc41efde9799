package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestPlanLine(t *testing.T) {
	for _, c := range []struct {
		e    api.PlanEntry
		want string
	}{
		{api.PlanEntry{Service: "web", Action: api.PlanCreate}, "create web"},
		{api.PlanEntry{Service: "db", Action: api.PlanUnchanged}, "unchanged db"},
		{api.PlanEntry{Service: "old", Action: api.PlanRemove}, "remove old"},
		{api.PlanEntry{Service: "worker", Action: api.PlanUpdate, Rollout: true, Changes: []api.FieldChange{
			{Field: "image", Old: `"a"`, New: `"b"`}, {Field: "env.MODE", Old: `"x"`, New: `"y"`}, {Field: "env.NEW", New: `"1"`},
		}}, `update worker: image "a" → "b", env.MODE "x" → "y", env.NEW none → "1" (rolling update)`},
		{api.PlanEntry{Service: "web", Action: api.PlanUpdate, Changes: []api.FieldChange{{Field: "replicas", Old: "1", New: "3"}}},
			"update web: replicas 1 → 3"},
	} {
		if got := planLine(c.e); got != c.want {
			t.Errorf("planLine = %q, want %q", got, c.want)
		}
	}
}

// stackServer answers PUT /v1/stacks/{name} with a plan that creates every
// service (or, when dry, keeps them), and records the request.
func stackServer(t *testing.T, got *api.DeployStackRequest, path *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*path = r.Method + " " + r.URL.Path
		*got = api.DeployStackRequest{}
		if err := json.NewDecoder(r.Body).Decode(got); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		res := api.DeployStackResult{DryRun: got.DryRun, Created: !got.DryRun}
		for _, s := range got.Spec.Services {
			res.Plan = append(res.Plan, api.PlanEntry{Service: s.Name, Action: api.PlanCreate})
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestStackDeploy(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(file, []byte("name: shop\nservices:\n  web:\n    image: nginx\n    cap_add: [NET_ADMIN]\n  db:\n    image: postgres\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var req api.DeployStackRequest
	var path string
	srv := stackServer(t, &req, &path)
	conn := []string{"--addr", srv.URL, "--token", "t"}

	out, errOut, err := runCLI(t, append([]string{"stack", "deploy", "-f", file, "--dry-run"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	if path != "PUT /v1/stacks/shop" || !req.DryRun || len(req.Spec.Services) != 2 || req.Spec.Services[1].Spec.Image != "nginx" {
		t.Errorf("sent %s %+v", path, req)
	}
	if want := "compose.yml:5: services.web.cap_add is not supported by Wharf; ignored\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if want := "create db\ncreate web\nstack shop (dry run, nothing was changed): 2 to create, 0 to update, 0 to remove, 0 unchanged\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}

	out, _, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "other", "--detach"}, conn...)...)
	if err != nil || path != "PUT /v1/stacks/other" || req.DryRun || !strings.Contains(out, "stack other (created)") {
		t.Errorf("deploy other: %q, %s, %v", out, path, err)
	}

	// --strict makes the warning an error, and nothing is sent.
	path = ""
	_, _, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--strict"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "compose.yml:5: services.web.cap_add") || path != "" {
		t.Errorf("--strict: %v, sent %q", err, path)
	}
}

func TestStackDeployErrors(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("services:\n  web:\n    image: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "stack", "deploy", "-f", bad, "x", "--addr", "http://127.0.0.1:1", "--token", "t")
	if err == nil || !regexp.MustCompile(`bad\.yml:\d+: `).MatchString(err.Error()) {
		t.Errorf("a file that does not parse: %v", err)
	}
	unnamed := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(unnamed, []byte("services:\n  web:\n    image: nginx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI(t, "stack", "deploy", "-f", unnamed, "--addr", "http://127.0.0.1:1", "--token", "t")
	if err == nil || !strings.Contains(err.Error(), "NAME") {
		t.Errorf("no name: %v", err)
	}
}
