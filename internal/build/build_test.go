package build

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/build/buildtest"
	"github.com/wharfhq/wharf/internal/compose"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

const token = "wharf-token-for-tests"

func registryOf(f *buildtest.FakeRegistry) Registry {
	return Registry{Host: f.Host, Org: "acme", Username: "alice", Password: f.Token, CACert: f.CAPEM}
}

func webStack(dir string) *compose.Stack {
	return &compose.Stack{Name: "shop", Services: []compose.Service{
		{Name: "db", Spec: api.ServiceSpec{Image: "postgres"}},
		{Name: "web", Build: &compose.Build{Context: dir, Dockerfile: "Dockerfile", Image: "shop-web"}, Spec: api.ServiceSpec{Image: "shop-web"}},
		// Runs what web builds, as in Compose.
		{Name: "web2", Spec: api.ServiceSpec{Image: "shop-web"}},
	}}
}

// engineOnce connects to the test's engine, and counts the connections.
func engineOnce(t *testing.T, n *atomic.Int32) func(context.Context) (*client.Client, error) {
	return func(context.Context) (*client.Client, error) {
		n.Add(1)
		return dockertest.Require(t), nil
	}
}

func TestImagesBuildPushUnchanged(t *testing.T) {
	engine := dockertest.Require(t)
	f := buildtest.NewFakeRegistry(t, token)
	dir := t.TempDir()
	tree(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": "hello\n"})
	ctx := context.Background()
	var connects atomic.Int32
	var out, log bytes.Buffer
	o := Options{Stack: "shop", Registry: registryOf(f), Out: &out, Log: &log, Engine: engineOnce(t, &connects)}

	st := webStack(dir)
	steps, err := Images(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = engine.ImageRemove(context.Background(), steps[0].Ref, client.ImageRemoveOptions{}) })
	s := steps[0]
	wantRef := f.Host + "/acme/shop-web:" + s.ctx.Tag()
	if len(steps) != 1 || s.Action != ActionBuild || s.Ref != wantRef || !strings.HasPrefix(s.Digest, "sha256:") {
		t.Fatalf("steps %+v, want one build of %s", steps, wantRef)
	}
	web := st.Services[1].Spec
	if web.Image != wantRef+"@"+s.Digest || web.PullPolicy != api.PullBuild {
		t.Errorf("web runs %q (pull %q), want %s@%s, pull build", web.Image, web.PullPolicy, wantRef, s.Digest)
	}
	if w2 := st.Services[2].Spec; w2.Image != web.Image || w2.PullPolicy != api.PullBuild {
		t.Errorf("web2, which names web's image, runs %q (pull %q)", w2.Image, w2.PullPolicy)
	}
	if st.Services[0].Spec.Image != "postgres" || st.Services[0].Spec.PullPolicy != "" {
		t.Errorf("db changed: %+v", st.Services[0].Spec)
	}
	if !strings.Contains(out.String(), "image web: build "+wantRef+"\n") || !strings.Contains(out.String(), "image web: pushed "+wantRef+"@"+s.Digest) {
		t.Errorf("out:\n%s", out.String())
	}
	if !strings.Contains(log.String(), "COPY hello.txt /hello.txt") || !regexp.MustCompile(`\npushed web: [0-9.]+ KiB\n`).MatchString(log.String()) {
		t.Errorf("the build's output is not streamed:\n%s", log.String())
	}
	// The registry holds that digest under the tag.
	ref, err := name.ParseReference(wantRef)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, mustOptions(t, o.Registry)...)
	if err != nil || desc.Digest.String() != s.Digest {
		t.Fatalf("registry has %v, %v; want %s", desc, err, s.Digest)
	}

	// Again, with the same files: nothing is built nor pushed.
	pushes := f.Pushes()
	out.Reset()
	log.Reset()
	st = webStack(dir)
	steps, err = Images(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].Action != ActionUnchanged || steps[0].Digest != s.Digest || f.Pushes() != pushes || connects.Load() != 1 || log.Len() != 0 {
		t.Errorf("second deploy: %+v, %d pushes (was %d), %d engine connections", steps, f.Pushes(), pushes, connects.Load())
	}
	if st.Services[1].Spec.Image != wantRef+"@"+s.Digest {
		t.Errorf("unchanged web runs %q", st.Services[1].Spec.Image)
	}
	if want := "image web: unchanged " + wantRef + "\n"; out.String() != want {
		t.Errorf("out %q, want %q", out.String(), want)
	}

	// A changed file, in a dry run: "build", the tag without a digest,
	// and nothing built or pushed.
	tree(t, dir, map[string]string{"hello.txt": "hello again\n"})
	out.Reset()
	st = webStack(dir)
	o.DryRun = true
	steps, err = Images(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].Action != ActionBuild || steps[0].Ref == wantRef || steps[0].Digest != "" || st.Services[1].Spec.Image != steps[0].Ref ||
		f.Pushes() != pushes || connects.Load() != 1 {
		t.Errorf("dry run: %+v, image %q, %d pushes, %d connections", steps, st.Services[1].Spec.Image, f.Pushes(), connects.Load())
	}
	if want := "image web: build " + steps[0].Ref + "\n"; out.String() != want {
		t.Errorf("dry run out %q, want %q", out.String(), want)
	}
}

func TestImagesFailedBuild(t *testing.T) {
	dockertest.Require(t)
	f := buildtest.NewFakeRegistry(t, token)
	dir := t.TempDir()
	tree(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY missing.txt /\n"})
	var connects atomic.Int32
	var out, log bytes.Buffer
	st := webStack(dir)
	_, err := Images(context.Background(), st, Options{Stack: "shop", Registry: registryOf(f), Out: &out, Log: &log, Engine: engineOnce(t, &connects)})
	if err == nil || !strings.Contains(err.Error(), "build service web failed") || !strings.Contains(err.Error(), "missing.txt") {
		t.Fatalf("a failing Dockerfile: %v", err)
	}
	if f.Pushes() != 0 || st.Services[1].Spec.Image != "shop-web" {
		t.Errorf("after a failed build: %d pushes, web image %q", f.Pushes(), st.Services[1].Spec.Image)
	}
}

func TestImagesRegistryRefusals(t *testing.T) {
	f := buildtest.NewFakeRegistry(t, token)
	dir := t.TempDir()
	tree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	noEngine := func(context.Context) (*client.Client, error) {
		t.Error("the engine was asked")
		return nil, errors.New("no")
	}
	var out bytes.Buffer

	// A wrong token: a clear error, nothing built.
	reg := registryOf(f)
	reg.Password = "wrong"
	_, err := Images(context.Background(), webStack(dir), Options{Stack: "shop", Registry: reg, Out: &out, Engine: noEngine})
	if err == nil || !strings.Contains(err.Error(), "refused the Wharf token") {
		t.Errorf("a wrong token: %v", err)
	}

	// An unreachable registry: an error naming it.
	reg = registryOf(f)
	reg.Host = "127.0.0.1:1"
	_, err = Images(context.Background(), webStack(dir), Options{Stack: "shop", Registry: reg, Out: &out, Engine: noEngine, DryRun: true})
	if err == nil || !strings.HasPrefix(err.Error(), "registry 127.0.0.1:1: 127.0.0.1:1/acme/shop-web:") || strings.Contains(err.Error(), token) {
		t.Errorf("an unreachable registry: %v", err)
	}

	// A registry that does not verify with the CA: no fallback to plain
	// HTTP, where the token would go in clear.
	var plain atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	reg = registryOf(f)
	reg.Host = strings.TrimPrefix(srv.URL, "http://")
	_, err = Images(context.Background(), webStack(dir), Options{Stack: "shop", Registry: reg, Out: &out, Engine: noEngine, DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") || plain.Load() != 0 {
		t.Errorf("a registry over plain HTTP: %v, %d requests over HTTP", err, plain.Load())
	}
}

func TestConnectNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	_, err := Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no Docker Engine here") || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("no engine: %v", err)
	}
}

func TestRepository(t *testing.T) {
	reg := Registry{Host: "wharf.example:7443", Org: "acme"}
	for _, c := range []struct{ image, repo, tag, err string }{
		{"", "wharf.example:7443/acme/shop-web", "", ""},
		{"web", "wharf.example:7443/acme/shop-web", "", ""},
		{"someone/web:1.0", "wharf.example:7443/acme/shop-web", "", ""},
		{"wharf.example:7443/acme/frontend", "wharf.example:7443/acme/frontend", "", ""},
		{"wharf.example:7443/acme/team/frontend:v2", "wharf.example:7443/acme/team/frontend", "v2", ""},
		{"wharf.example:7443/other/frontend", "", "", "outside organization acme"},
		{"ghcr.io/acme/frontend", "", "", "names registry ghcr.io: Wharf pushes built images to its built-in registry wharf.example:7443 only"},
		{"localhost/web", "", "", "names registry localhost"},
	} {
		repo, tag, err := Repository(reg, "shop", "web", &compose.Build{Image: c.image})
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.image, err, c.err)
			}
		case err != nil || repo.String() != c.repo || tag != c.tag:
			t.Errorf("%q: %s %q %v, want %s %q", c.image, repo, tag, err, c.repo, c.tag)
		}
	}
}

func mustOptions(t *testing.T, r Registry) []remote.Option {
	o, err := r.Options()
	if err != nil {
		t.Fatal(err)
	}
	return o
}
