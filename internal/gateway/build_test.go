package gateway_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// fakeBuilder is the fake driver that also builds: it keeps what it was
// sent and prints a line; it fails when told.
type fakeBuilder struct {
	*fake.Driver
	mu   sync.Mutex
	spec runtime.BuildSpec
	tar  string
	fail error
}

func (f *fakeBuilder) BuildImage(_ context.Context, spec runtime.BuildSpec, tar io.Reader, out io.Writer) (string, error) {
	b, err := io.ReadAll(tar)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.spec, f.tar = spec, string(b)
	fail := f.fail
	f.mu.Unlock()
	_, _ = io.WriteString(out, "Step 1/1 : FROM scratch\n")
	if fail != nil {
		return "", fail
	}
	return "sha256:feed", nil
}

func (e *env) startBuildAgent(host string, allow bool) (*fakeBuilder, string) {
	e.t.Helper()
	drv := &fakeBuilder{Driver: fake.New()}
	dir := e.t.TempDir()
	a, err := agent.New(agent.Config{
		ServerURL: e.api.URL, JoinToken: e.token, DataDir: dir, Drivers: []runtime.Driver{drv},
		HeartbeatInterval: 200 * time.Millisecond, Hostname: host, Logger: e.log, AllowBuilds: allow,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	id := waitAgentID(e.t, &agentProc{a: a, done: done})
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	return drv, id
}

// TestNodeBuild: through a real agent session, a build streams the
// context to the agent and the output back, with the digest; the agent
// gets the registry, repository, tag and push credential; a failed build
// is its message; an agent without --allow-builds refuses it, and its
// node says it does not build.
func TestNodeBuild(t *testing.T) {
	e := newEnv(t)
	gw := e.gw.Load()
	req := api.NodeBuildRequest{
		BuildRequest: api.BuildRequest{Repository: "default/web", Tag: "h1", Dockerfile: "Dockerfile", Args: map[string]string{"A": "1"}},
		RegistryHost: "127.0.0.1:7443", Auth: api.RegistryAuth{Username: "wharf-build.x", Password: "v1.1.default/web.mac"},
	}

	drv, id := e.startBuildAgent("host-builds", true)
	if !e.node(id).AllowBuilds || !gw.NodeConnected(id) {
		t.Fatalf("node %+v", e.node(id))
	}
	var out strings.Builder
	digest, err := gw.NodeBuild(e.ctx, id, req, strings.NewReader("the context's tar"), &out)
	if err != nil || digest != "sha256:feed" || !strings.Contains(out.String(), "Step 1/1 : FROM scratch") {
		t.Fatalf("build: %q, %v; output %q", digest, err, out.String())
	}
	drv.mu.Lock()
	spec, tar := drv.spec, drv.tar
	drv.mu.Unlock()
	if tar != "the context's tar" || spec.Ref != "127.0.0.1:7443/default/web:h1" || spec.Username != req.Auth.Username ||
		spec.Password != req.Auth.Password || spec.Args["A"] != "1" || len(spec.CACert) == 0 {
		t.Fatalf("the driver got %+v, context %q", spec, tar)
	}
	drv.mu.Lock()
	drv.fail = errors.New("The command '/x' returned a non-zero code: 3")
	drv.mu.Unlock()
	if _, err := gw.NodeBuild(e.ctx, id, req, strings.NewReader("x"), io.Discard); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "non-zero code: 3") {
		t.Fatalf("a failed build: %v", err)
	}

	refusing, id2 := e.startBuildAgent("host-no-builds", false)
	if e.node(id2).AllowBuilds {
		t.Fatal("a node without --allow-builds says it builds")
	}
	if _, err := gw.NodeBuild(e.ctx, id2, req, strings.NewReader("x"), io.Discard); !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), "--allow-builds") {
		t.Fatalf("an agent without --allow-builds: %v", err)
	}
	if refusing.tar != "" {
		t.Fatal("the refusing agent's driver was asked to build")
	}
	if _, err := gw.NodeBuild(e.ctx, "nosuch", req, strings.NewReader("x"), io.Discard); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("a node not connected: %v", err)
	}
}
