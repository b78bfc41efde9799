package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/build/buildtest"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// buildAPI is a fake Wharf API for `stack deploy` with build: services: it
// names the registry (GET /v1/registry), says the caller acts in acme
// (GET /v1/me), answers stack deploys like stackServer, and records every
// request. It serves TLS with the same test certificate as the fake
// registry, so one --cacert trusts both.
type buildAPI struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []string
	deploys  []api.DeployStackRequest
	registry string // "" answers 404 to GET /v1/registry
}

func newBuildAPI(t *testing.T, registryHost string) *buildAPI {
	a := &buildAPI{registry: registryHost}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.requests = append(a.requests, r.Method+" "+r.URL.Path)
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1/registry" && a.registry != "":
			_ = json.NewEncoder(w).Encode(api.RegistryInfo{Host: a.registry})
		case r.Method == "GET" && r.URL.Path == "/v1/me":
			_ = json.NewEncoder(w).Encode(api.Me{Name: "alice", User: "alice", Org: "acme"})
		case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/stacks/"):
			var req api.DeployStackRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			a.deploys = append(a.deploys, req)
			res := api.DeployStackResult{DryRun: req.DryRun, Created: !req.DryRun}
			for _, s := range req.Spec.Services {
				res.Plan = append(res.Plan, api.PlanEntry{Service: s.Name, Action: api.PlanCreate})
			}
			_ = json.NewEncoder(w).Encode(res)
		default:
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeNotFound, Message: "no route"}})
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// writes are the requests that would change something on the server.
func (a *buildAPI) writes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var w []string
	for _, r := range a.requests {
		if !strings.HasPrefix(r, "GET ") {
			w = append(w, r)
		}
	}
	return w
}

func (a *buildAPI) lastDeploy() api.DeployStackRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.deploys[len(a.deploys)-1]
}

// buildApp writes a compose application with one built service (web) and
// one image service (db) under a temp dir, and returns the compose file.
func buildApp(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"compose.yml":        "name: shop\nservices:\n  web:\n    build: ./web\n  db:\n    image: postgres\n",
		"web/Dockerfile":     dockerfile,
		"web/hello.txt":      "hello\n",
		"web/.dockerignore":  "*.tmp\n",
		"web/notes.tmp":      "ignored",
		"unrelated/file.txt": "outside the context",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "compose.yml")
}

func TestStackDeployBuild(t *testing.T) {
	engine := dockertest.Require(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	const token = "tok-secret"
	reg := buildtest.NewFakeRegistry(t, token)
	srv := newBuildAPI(t, reg.Host)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--addr", srv.srv.URL, "--token", token, "--cacert", ca}
	file := buildApp(t, "FROM scratch\nCOPY hello.txt /hello.txt\n")

	// First deploy: built, pushed, and the service runs the digest.
	out, errOut, err := runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	m := regexp.MustCompile(`image web: pushed (` + regexp.QuoteMeta(reg.Host) + `/acme/shop-web:[0-9a-f]{32})@(sha256:[0-9a-f]{64})\n`).FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(out, "image web: build "+m[1]+"\n") {
		t.Fatalf("stdout:\n%s", out)
	}
	t.Cleanup(func() { _, _ = engine.ImageRemove(context.Background(), m[1], client.ImageRemoveOptions{}) })
	if strings.Contains(out+errOut, token) {
		t.Error("the token is printed")
	}
	if !strings.Contains(errOut, "COPY hello.txt /hello.txt") {
		t.Errorf("the build's output is not on stderr:\n%s", errOut)
	}
	dep := srv.lastDeploy()
	web := dep.Spec.Services[1]
	if web.Name != "web" || web.Spec.Image != m[1]+"@"+m[2] || web.Spec.PullPolicy != api.PullBuild || dep.DryRun {
		t.Errorf("deployed web %+v", web)
	}
	if db := dep.Spec.Services[0].Spec; db.Image != "postgres" || db.PullPolicy != "" {
		t.Errorf("deployed db %+v", db)
	}
	pushes := reg.Pushes()
	if pushes == 0 {
		t.Fatal("nothing pushed")
	}

	// Second deploy of the same files, a file .dockerignore excludes
	// changed: nothing built, nothing pushed, the same digest.
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "web/notes.tmp"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err != nil || !strings.HasPrefix(out, "image web: unchanged "+m[1]+"\n") || errOut != "" || reg.Pushes() != pushes {
		t.Errorf("second deploy: %v, %d pushes (was %d)\nstdout:\n%s\nstderr:\n%s", err, reg.Pushes(), pushes, out, errOut)
	}
	if got := srv.lastDeploy().Spec.Services[1].Spec.Image; got != m[1]+"@"+m[2] {
		t.Errorf("second deploy runs %q", got)
	}

	// A changed file, in a dry run: "build" with the new tag, nothing
	// built or pushed, the server asked for a dry run.
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "web/hello.txt"), []byte("hello 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--dry-run"}, conn...)...)
	dm := regexp.MustCompile(`^image web: build (` + regexp.QuoteMeta(reg.Host) + `/acme/shop-web:[0-9a-f]{32})\n`).FindStringSubmatch(out)
	if err != nil || dm == nil || dm[1] == m[1] || errOut != "" || reg.Pushes() != pushes {
		t.Fatalf("dry run: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if dep := srv.lastDeploy(); !dep.DryRun || dep.Spec.Services[1].Spec.Image != dm[1] {
		t.Errorf("dry run sent %+v", dep)
	}
	if !strings.Contains(out, "stack shop (dry run, nothing was changed)") {
		t.Errorf("dry run stdout:\n%s", out)
	}
}

func TestStackDeployBuildFails(t *testing.T) {
	dockertest.Require(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	const token = "tok-secret"
	reg := buildtest.NewFakeRegistry(t, token)
	srv := newBuildAPI(t, reg.Host)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--addr", srv.srv.URL, "--token", token, "--cacert", ca}

	// A Dockerfile that fails: the build's message, and nothing sent.
	file := buildApp(t, "FROM scratch\nCOPY missing.txt /\n")
	_, _, err := runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "stack shop: build service web failed") || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("a failing Dockerfile: %v", err)
	}
	if w := srv.writes(); len(w) != 0 || reg.Pushes() != 0 {
		t.Errorf("after a failed build the server got %q, the registry %d pushes", w, reg.Pushes())
	}

	// No engine on this machine, and a server that cannot build on a
	// node (no POST /v1/builds): a clear error, and nothing deployed.
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	file = buildApp(t, "FROM scratch\nCOPY hello.txt /\n")
	_, _, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "no Docker Engine here") || !strings.Contains(err.Error(), "set DOCKER_HOST") ||
		!strings.Contains(err.Error(), "cannot build on a node") {
		t.Errorf("no engine: %v", err)
	}
	if w := srv.writes(); len(w) != 1 || w[0] != "POST /v1/builds" {
		t.Errorf("without an engine the server got %q, want the build's upload alone", w)
	}

	// A server without a built-in registry.
	srv.mu.Lock()
	srv.registry = ""
	srv.mu.Unlock()
	_, _, err = runCLI(t, append([]string{"stack", "deploy", "-f", file, "--detach"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), "the server has no built-in registry") {
		t.Errorf("no registry: %v", err)
	}
}

// TestStackDeployBuildExample deploys examples/build (binaries built into
// a copy of it, as `make examples` does) with one command: web and worker
// are built and pushed, greeter runs web's digest; again, nothing is built.
func TestStackDeployBuildExample(t *testing.T) {
	engine := dockertest.Require(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "examples", "build"))); err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"web", "worker"} {
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", filepath.Join(dir, prog, prog), "../../examples/build/"+prog)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", prog, err, out)
		}
	}
	const token = "tok-secret"
	reg := buildtest.NewFakeRegistry(t, token)
	srv := newBuildAPI(t, reg.Host)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"stack", "deploy", "-f", filepath.Join(dir, "compose.yml"), "--detach", "--addr", srv.srv.URL, "--token", token, "--cacert", ca}
	out, errOut, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	images := map[string]string{}
	for _, s := range srv.lastDeploy().Spec.Services {
		images[s.Name] = s.Spec.Image
	}
	t.Cleanup(func() {
		for _, ref := range []string{images["web"], images["worker"]} {
			ref, _, _ = strings.Cut(ref, "@")
			_, _ = engine.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{})
		}
	})
	prefix := reg.Host + "/acme/demo-build-"
	if !strings.HasPrefix(images["web"], prefix+"web:") || !strings.HasPrefix(images["worker"], prefix+"worker:") ||
		images["greeter"] != images["web"] || !strings.Contains(images["web"], "@sha256:") {
		t.Fatalf("deployed images %q\nstdout:\n%s", images, out)
	}
	for _, want := range []string{"image web: build ", "image worker: build ", "image web: pushed ", "image worker: pushed "} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	pushes := reg.Pushes()
	start := time.Now()
	out, _, err = runCLI(t, args...)
	// What an unchanged context adds to a deploy: hashing both contexts
	// and a HEAD each, against an in-process API and registry.
	t.Logf("second deploy, nothing built: %v", time.Since(start))
	if err != nil || !strings.Contains(out, "image web: unchanged ") || !strings.Contains(out, "image worker: unchanged ") || reg.Pushes() != pushes {
		t.Errorf("second deploy: %v, %d pushes (was %d)\n%s", err, reg.Pushes(), pushes, out)
	}
}
