package apiserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/registry/registrytest"
	"github.com/wharfhq/wharf/internal/store"
)

// fakeBuilder is fakeLogs that also builds on nodes (a fake of the
// gateway): it reads the whole context, prints a line and answers a
// digest, or fails as told.
type fakeBuilder struct {
	*fakeLogs
	mu        sync.Mutex
	connected map[string]bool
	calls     []api.NodeBuildRequest
	nodes     []string
	read      int64
	fail      string
}

func (f *fakeBuilder) NodeConnected(n string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected[n]
}

func (f *fakeBuilder) NodeBuild(_ context.Context, node string, req api.NodeBuildRequest, tar io.Reader, out io.Writer) (string, error) {
	n, err := io.Copy(io.Discard, tar)
	f.mu.Lock()
	f.calls, f.nodes, f.read = append(f.calls, req), append(f.nodes, node), n
	fail := f.fail
	f.mu.Unlock()
	if err != nil {
		return "", errdefs.New(errdefs.ErrUnavailable, "read the context: "+err.Error())
	}
	fmt.Fprintf(out, "Step 1/1 : FROM scratch on %s\n", node)
	if fail != "" {
		return "", errdefs.New(errdefs.ErrInvalid, fail)
	}
	return "sha256:" + strings.Repeat("ab", 32), nil
}

func newBuildEnv(t *testing.T) (*env, *fakeBuilder) {
	fb := &fakeBuilder{connected: map[string]bool{}}
	e := newEnv(t, withRegistry(t, nil), func(s *Server) {
		fb.fakeLogs = s.cfg.Logs.(*fakeLogs)
		s.cfg.Logs = fb
		s.maxBuildContext = 4 << 10
	})
	return e, fb
}

// buildNode stores a Deployed node of org and says whether the fake
// gateway has it connected.
func buildNode(t *testing.T, e *env, fb *fakeBuilder, id, org string, builds, connected bool, drivers ...string) {
	t.Helper()
	n := api.Node{Meta: api.Meta{ID: id, Name: id, Org: org}, Hostname: id, State: api.NodeDeployed, AllowBuilds: builds, Drivers: drivers}
	if err := e.st.Create(t.Context(), store.KindNodes, &n); err != nil {
		t.Fatal(err)
	}
	fb.mu.Lock()
	fb.connected[id] = connected
	fb.mu.Unlock()
}

func buildClient(t *testing.T, e *env, token string) *client.Client {
	c, err := client.New(client.Options{Addr: e.srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBuildOnNode: a build goes only to a node of the caller's
// organization that runs the docker driver, allows builds and is
// connected; without one the answer says what to do; the node gets a push
// credential for that repository alone; the output streams back and the
// digest comes in the trailer; a failed build is its message.
func TestBuildOnNode(t *testing.T) {
	e, fb := newBuildEnv(t)
	ctx := t.Context()
	c := buildClient(t, e, e.admin)
	req := api.BuildRequest{Repository: "default/demo-web", Tag: "0123abcd", Dockerfile: "Dockerfile", Args: map[string]string{"A": "1"}}

	// Nodes that may not build: no --allow-builds, the exec driver only,
	// not connected, another organization's.
	buildNode(t, e, fb, "n-noflag", "", false, true, "docker")
	buildNode(t, e, fb, "n-exec", "", true, true, "exec")
	buildNode(t, e, fb, "n-away", "", true, false, "docker")
	buildNode(t, e, fb, "n-other", "b", true, true, "docker")
	_, err := c.Build(ctx, req, strings.NewReader("tar"), io.Discard)
	if !client.IsCode(err, api.CodeConflict) || !strings.Contains(err.Error(), "--allow-builds") || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Fatalf("no eligible node: %v", err)
	}
	if len(fb.calls) != 0 {
		t.Fatalf("a node was asked to build: %v", fb.nodes)
	}

	buildNode(t, e, fb, "n-ok", "", true, true, "exec", "docker")
	var out strings.Builder
	res, err := c.Build(ctx, req, strings.NewReader("the context"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "n-ok" || res.Digest != "sha256:"+strings.Repeat("ab", 32) || !strings.Contains(out.String(), "Step 1/1 : FROM scratch on n-ok") {
		t.Fatalf("build: %+v, output %q", res, out.String())
	}
	got := fb.calls[0]
	if fb.read != int64(len("the context")) || got.RegistryHost != "registry.test:7443" || got.Repository != req.Repository || got.Tag != req.Tag || got.Args["A"] != "1" {
		t.Fatalf("the node got %+v (%d bytes)", got, fb.read)
	}
	if got.Auth.Username != "wharf-build.n-ok" || !strings.Contains(got.Auth.Password, ".default/demo-web.") {
		t.Fatalf("the node's push credential: %+v", got.Auth)
	}
	// The audit trail has the build.
	var acts api.List[api.Action]
	e.call("GET", "/v1/actions?limit=100", "", 200, &acts)
	found := false
	for _, a := range acts.Items {
		found = found || a.Method == "POST" && a.Object == "default/demo-web:0123abcd"
	}
	if !found {
		t.Fatalf("no action of the build: %+v", acts.Items)
	}

	// A failing build: its output, then its message.
	fb.fail = "The command '/bin/sh -c false' returned a non-zero code: 1"
	out.Reset()
	if _, err := c.Build(ctx, req, strings.NewReader("x"), &out); err == nil || !strings.Contains(err.Error(), "returned a non-zero code: 1") || !strings.Contains(out.String(), "Step 1/1") {
		t.Fatalf("a failing build: %v, output %q", err, out.String())
	}
}

// TestBuildRefused: who may not build, what may not be built.
func TestBuildRefused(t *testing.T) {
	e, fb := newBuildEnv(t)
	buildNode(t, e, fb, "n-ok", "", true, true, "docker")
	ctx := t.Context()
	req := api.BuildRequest{Repository: "default/web", Tag: "v1"}
	for _, c := range []struct {
		what  string
		token string
		req   api.BuildRequest
		code  string
		msg   string
	}{
		{"a read-only token", orgToken(t, e.st, "default", api.RoleReadOnly), req, api.CodeForbidden, ""},
		{"another organization's repository", e.admin, api.BuildRequest{Repository: "b/web", Tag: "v1"}, api.CodeForbidden, "not in organization default"},
		{"a repository without organization", e.admin, api.BuildRequest{Repository: "web", Tag: "v1"}, api.CodeInvalid, "<organization>/<name>"},
		{"a bad tag", e.admin, api.BuildRequest{Repository: "default/web", Tag: "-x"}, api.CodeInvalid, "tag"},
		{"a Dockerfile outside the context", e.admin, api.BuildRequest{Repository: "default/web", Tag: "v1", Dockerfile: "../x"}, api.CodeInvalid, "dockerfile"},
	} {
		_, err := buildClient(t, e, c.token).Build(ctx, c.req, strings.NewReader("x"), io.Discard)
		if !client.IsCode(err, c.code) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %s %q", c.what, err, c.code, c.msg)
		}
	}
	if len(fb.calls) != 0 {
		t.Fatalf("a refused build reached a node: %v", fb.nodes)
	}

	// Too large: by its Content-Length, or as it streams.
	big := strings.Repeat("x", 5<<10)
	code, body := e.do("POST", "/v1/builds?repository=default/web&tag=v1", e.admin, big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), ".dockerignore") {
		t.Fatalf("a large context: %d %s", code, body)
	}
	_, err := buildClient(t, e, e.admin).Build(ctx, req, io.MultiReader(strings.NewReader(big)), io.Discard)
	if e2, ok := err.(*client.Error); !ok || e2.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a large streamed context: %v", err)
	}
}

// TestBuildPushCredential: the credential a node builds with pushes and
// pulls its one repository, and nothing else: not another repository of
// its organization, not another organization's, not through a blob mount
// from another repository; a credential for another repository, or one
// with its repository changed, is refused.
func TestBuildPushCredential(t *testing.T) {
	re := newRegistryEnv(t)
	c := re.client(nil)
	status := func(c *http.Client, method, u string, auth func(*http.Request)) (int, string, http.Header) {
		t.Helper()
		code, body, h, err := registrytest.Status(c, method, u, auth)
		if err != nil {
			t.Fatal(err)
		}
		return code, body, h
	}
	admin := basic("x", re.admin)
	if _, err := registrytest.TryPush(c, re.url, admin, "default/app", "v1", "app"); err != nil {
		t.Fatal(err)
	}
	n, _ := re.node(t, "node-a", "default")
	cred := re.s.d.BuildPushCredential(n.ID, "default/web")
	auth := basic(cred.Username, cred.Password)
	if _, err := registrytest.TryPush(c, re.url, auth, "default/web", "h1", "web"); err != nil {
		t.Fatalf("push with the build credential: %v", err)
	}
	if code, body, _ := status(c, "GET", re.url+"/v2/default/web/manifests/h1", auth); code != 200 {
		t.Fatalf("pull of its own repository: %d %s", code, body)
	}
	if _, err := registrytest.TryPush(c, re.url, auth, "default/other", "h1", "x"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("push to another repository: %v", err)
	}
	if code, _, _ := status(c, "GET", re.url+"/v2/default/app/manifests/v1", auth); code != 404 {
		t.Fatalf("pull of another repository: %d", code)
	}
	// A blob mount from another repository is an ordinary upload (202),
	// never the mount (201) that would hand it app's layer; the admin,
	// who may pull there, mounts it.
	layer := sha256.Sum256([]byte("layer app"))
	mount := re.url + "/v2/default/web/blobs/uploads/?mount=sha256:" + hex.EncodeToString(layer[:]) + "&from=default/app"
	if code, _, _ := status(c, "POST", mount, auth); code != http.StatusAccepted {
		t.Fatalf("a blob mount from another repository: %d", code)
	}
	if code, _, _ := status(c, "POST", mount, admin); code != http.StatusCreated {
		t.Fatalf("the admin's blob mount: %d", code)
	}
	if _, body, _ := status(c, "GET", re.url+"/v2/_catalog", auth); !strings.Contains(body, `"default/web"`) || strings.Contains(body, "default/app") {
		t.Fatalf("its catalog: %s", body)
	}
	if code, _, _ := status(c, "DELETE", re.url+"/v2/default/web/manifests/h1", auth); code != 403 {
		t.Fatalf("delete with the build credential: %d", code)
	}
	// Forged: its repository swapped in the password, another
	// organization's repository for a node of default.
	forged := strings.Replace(cred.Password, ".default/web.", ".default/app.", 1)
	if code, _, _ := status(c, "GET", re.url+"/v2/default/app/manifests/v1", basic(cred.Username, forged)); code != 401 {
		t.Fatalf("a credential with its repository swapped: %d", code)
	}
	other := re.s.d.BuildPushCredential(n.ID, "b/web")
	if _, err := registrytest.TryPush(c, re.url, basic(other.Username, other.Password), "b/web", "h1", "x"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a node's credential for another organization's repository: %v", err)
	}
	// A node credential's password under the build user, and back.
	pull, _ := re.s.d.NodeRegistryCredential(n)
	if code, _, _ := status(c, "GET", re.url+"/v2/default/web/manifests/h1", basic(cred.Username, pull.Password)); code != 401 {
		t.Fatalf("a pull credential as a build credential: %d", code)
	}
	if code, _, _ := status(c, "GET", re.url+"/v2/default/web/manifests/h1", basic(pull.Username, cred.Password)); code != 401 {
		t.Fatalf("a build credential as a pull credential: %d", code)
	}
}
