package docker

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// spec is a serve workload of the test image with the given ID.
func spec(image, id string) runtime.Spec {
	return runtime.Spec{ID: id, Name: "web-1", Service: "web", Slot: 1, Node: "node-x",
		Image: image, Command: serveCmd, Ports: []api.PortSpec{{ContainerPort: 8080}}}
}

func ctx20(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewWithoutEngine(t *testing.T) {
	t.Parallel()
	began := time.Now()
	_, err := New(t.Context(), Options{Host: "unix:///nonexistent/docker.sock"})
	if err == nil || !strings.Contains(err.Error(), "no Docker Engine answers") {
		t.Fatalf("New with no engine: %v, want an error saying no engine answers", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("New with no engine took %v", took)
	}
}

// TestNegotiatesAndReportsVersion: New leaves the client speaking the
// engine's API version (1.41 for engine 20.10), or the client's newest if
// the engine is newer still.
func TestNegotiatesAndReportsVersion(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "version-"+t.Name())
	ping, err := d.cli.Ping(ctx20(t), client.PingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := client.MaxAPIVersion
	if versions.LessThan(ping.APIVersion, want) {
		want = ping.APIVersion
	}
	if got := d.cli.ClientVersion(); got != want {
		t.Errorf("client speaks API %s to an engine of API %s, want %s", got, ping.APIVersion, want)
	}
	v, err := d.EngineVersion(ctx20(t))
	if err != nil || v == "" {
		t.Fatalf("EngineVersion = %q, %v", v, err)
	}
	t.Logf("engine %s, API %s", v, d.cli.ClientVersion())
}

func TestNodeRequired(t *testing.T) {
	t.Parallel()
	dockertest.Require(t)
	d, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.List(ctx20(t)); !errors.Is(err, errNoNode) {
		t.Errorf("List before SetNode: %v, want errNoNode", err)
	}
	if _, err := d.Start(ctx20(t), spec("any", "x1")); !errors.Is(err, errNoNode) {
		t.Errorf("Start before SetNode: %v, want errNoNode", err)
	}
}

func TestMissingImageFailsFast(t *testing.T) {
	t.Parallel()
	d := newDriver(t, "missing-"+t.Name())
	s := spec("wharf/no-such-image:never", "missing1")
	s.PullPolicy = api.PullNever
	began := time.Now()
	_, err := d.Start(ctx20(t), s)
	if err == nil || !strings.Contains(err.Error(), "image "+s.Image+" is not on this node") || !strings.Contains(err.Error(), "docker load") {
		t.Fatalf("Start of a missing image: %v, want the not-on-this-node error", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("Start of a missing image took %v, want it to fail at once", took)
	}
	if _, err := d.Inspect(ctx20(t), s.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after the failed Start: %v, want ErrNotFound", err)
	}
}

func TestLabelsEnvAndLimits(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "labels-"+t.Name())
	s := spec(image, "0123456789abcdef")
	s.Env = map[string]string{"GREETING": "ahoy"}
	s.Resources = api.Resources{MemoryBytes: 64 << 20, NanoCPUs: 5e8}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.cli.ContainerInspect(ctx20(t), st.DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := res.Container
	if in.Name != "/wharf-web-1-01234567" {
		t.Errorf("name %q, want /wharf-web-1-01234567", in.Name)
	}
	wantLabels := map[string]string{
		"wharf.managed": "true", "wharf.id": s.ID, "wharf.node": "labels-" + t.Name(),
		"wharf.service": "web", "wharf.slot": "1", "wharf.name": "web-1",
	}
	for k, v := range wantLabels {
		if got := in.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	for _, kv := range []string{"GREETING=ahoy", "PORT=8080", "WHARF_CONTAINER_ID=" + s.ID,
		"WHARF_CONTAINER_NAME=web-1", "WHARF_SERVICE=web", "WHARF_SLOT=1", "WHARF_NODE=node-x"} {
		if !slices.Contains(in.Config.Env, kv) {
			t.Errorf("env %v lacks %s", in.Config.Env, kv)
		}
	}
	if in.HostConfig.Memory != 64<<20 || in.HostConfig.NanoCPUs != 5e8 {
		t.Errorf("limits: memory %d, nano CPUs %d; want %d and %d", in.HostConfig.Memory, in.HostConfig.NanoCPUs, 64<<20, int64(5e8))
	}
	if !in.HostConfig.RestartPolicy.IsNone() {
		t.Errorf("restart policy %q, want none", in.HostConfig.RestartPolicy.Name)
	}
	if len(st.Ports) != 1 || st.Ports[0].ContainerPort != 8080 || st.Ports[0].Protocol != "tcp" || st.HostPort != st.Ports[0].HostPort || st.PID <= 0 {
		t.Errorf("status %+v, want one tcp binding of 8080, HostPort its host port, a PID", st)
	}
}

// TestForeignContainersUntouched: containers the driver did not make for
// its node are never listed, inspected, stopped or removed.
func TestForeignContainersUntouched(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "mine-"+t.Name())
	other := newDriver(t, "theirs-"+t.Name())
	theirs, err := other.Start(ctx20(t), spec(image, "shared-id"))
	if err != nil {
		t.Fatal(err)
	}
	plain := createPlain(t, d.cli, image, map[string]string{"wharf.id": "shared-id", "wharf.node": "mine-" + t.Name()})

	if list, err := d.List(ctx20(t)); err != nil || len(list) != 0 {
		t.Fatalf("List = %+v, %v; want nothing", list, err)
	}
	if _, err := d.Inspect(ctx20(t), "shared-id"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect of another node's ID: %v, want ErrNotFound", err)
	}
	if err := d.Stop(ctx20(t), "shared-id", time.Second); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Stop of another node's ID: %v, want ErrNotFound", err)
	}
	if err := d.Remove(ctx20(t), "shared-id"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Remove of another node's ID: %v, want ErrNotFound", err)
	}
	for _, id := range []string{theirs.DriverID, plain} {
		res, err := d.cli.ContainerInspect(ctx20(t), id, client.ContainerInspectOptions{})
		if err != nil || !res.Container.State.Running {
			t.Errorf("foreign container %s after the driver's calls: %+v, %v; want it running", id, res.Container.State, err)
		}
	}
}

// createPlain starts a container of image that Wharf did not make (no
// wharf.managed label) and removes it when the test ends.
func createPlain(t *testing.T, cli *client.Client, image string, labels map[string]string) string {
	t.Helper()
	c, err := cli.ContainerCreate(ctx20(t), client.ContainerCreateOptions{
		Config: &container.Config{Image: image, Labels: labels},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Errorf("cleanup: remove plain container: %v", err)
		}
	})
	if _, err := cli.ContainerStart(ctx20(t), c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestRerun: an exited run of the same spec starts again in the same
// container, keeping its logs; a changed spec gets a new container.
func TestRerun(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "rerun-"+t.Name())
	s := runtime.Spec{ID: "rerun1", Name: "job-1", Service: "job", Slot: 1, Image: image, Command: []string{"version"}}
	first, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := d.Wait(ctx20(t), s.ID); err != nil || st.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v; want exit 0", st, err)
	}
	once := logsOf(t, d, s.ID)
	if !strings.HasPrefix(once, "wharf ") {
		t.Fatalf("logs of `wharf version` = %q", once)
	}
	again, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if again.DriverID != first.DriverID {
		t.Errorf("same spec re-run in container %s, want the same %s", again.DriverID, first.DriverID)
	}
	if _, err := d.Wait(ctx20(t), s.ID); err != nil {
		t.Fatal(err)
	}
	if out := logsOf(t, d, s.ID); out != once+once {
		t.Errorf("logs after two runs = %q, want the first run's %q twice", out, once)
	}
	s.Env = map[string]string{"CHANGED": "1"}
	changed, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if changed.DriverID == first.DriverID {
		t.Error("a changed spec re-ran in the old container, want a new one")
	}
	if list, err := d.List(ctx20(t)); err != nil || len(list) != 1 {
		t.Errorf("List = %+v, %v; want the one new container", list, err)
	}
}

// TestLogsDemultiplexed: stderr reaches Logs as plain text, with no stream
// headers, and the exit code is the workload's.
func TestLogsDemultiplexed(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "stderr-"+t.Name())
	s := runtime.Spec{ID: "stderr1", Name: "bad-1", Image: image, Command: []string{"hello", "--no-such-flag"}}
	if _, err := d.Start(ctx20(t), s); err != nil {
		t.Fatal(err)
	}
	st, err := d.Wait(ctx20(t), s.ID)
	if err != nil || st.State != runtime.StateExited || st.ExitCode != 1 {
		t.Fatalf("Wait = %+v, %v; want exited with code 1", st, err)
	}
	out := logsOf(t, d, s.ID)
	if !strings.HasSuffix(out, "wharf: unknown flag: --no-such-flag\n") || strings.ContainsAny(out, "\x00\x01\x02") {
		t.Errorf("logs = %q, want plain stderr ending in the CLI's error", out)
	}
}

// logsOf returns all of id's logs.
func logsOf(t *testing.T, d *Driver, id string) string {
	t.Helper()
	var b strings.Builder
	if err := d.Logs(ctx20(t), id, runtime.LogOptions{}, &b); err != nil {
		t.Fatalf("Logs(%s): %v", id, err)
	}
	return b.String()
}

func TestNewRefusesPinnedVersionTooNew(t *testing.T) {
	dockertest.Require(t)
	t.Setenv("DOCKER_API_VERSION", client.MaxAPIVersion)
	d, err := New(t.Context(), Options{})
	if err == nil {
		// The engine speaks the client's newest version: nothing to refuse.
		d.Close()
		t.Skipf("the engine accepts API %s", client.MaxAPIVersion)
	}
	if !strings.Contains(err.Error(), "DOCKER_API_VERSION") {
		t.Errorf("New with a pinned API version the engine refuses: %v, want it to name DOCKER_API_VERSION", err)
	}
}

// TestStartFailureLeavesNothing: a container that is created but cannot
// start (its host port is taken) is removed, and Start says why.
func TestStartFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "fail-"+t.Name())
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := spec(image, "taken1")
	s.Ports = []api.PortSpec{{ContainerPort: 8080, HostPort: ln.Addr().(*net.TCPAddr).Port}}
	if st, err := d.Start(ctx20(t), s); err == nil {
		t.Fatalf("Start on a taken host port = %+v, want an error", st)
	}
	if _, err := d.Inspect(ctx20(t), s.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after the failed Start: %v, want ErrNotFound", err)
	}
	res, err := d.cli.ContainerList(ctx20(t), client.ContainerListOptions{All: true, Filters: filters("fail-"+t.Name(), "")})
	if err != nil || len(res.Items) != 0 {
		t.Errorf("engine lists %d containers of the node after the failed Start (%v), want none", len(res.Items), err)
	}
}

// TestMissingEntrypointExits127: with the engine's init as PID 1, an
// entrypoint that does not exist starts, then exits 127 saying why.
func TestMissingEntrypointExits127(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "noexe-"+t.Name())
	s := runtime.Spec{ID: "noexe1", Name: "x-1", Image: image, Entrypoint: []string{"/no-such-binary"}}
	if _, err := d.Start(ctx20(t), s); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Wait(ctx20(t), s.ID); err != nil || st.ExitCode != 127 {
		t.Fatalf("Wait = %+v, %v; want exit code 127", st, err)
	}
	if out := logsOf(t, d, s.ID); !strings.Contains(out, "/no-such-binary") {
		t.Errorf("logs = %q, want them to name the missing binary", out)
	}
}
