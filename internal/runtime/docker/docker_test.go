package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/conformance"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// Workloads of the test image (see dockertest): `wharf hello` serves on
// $PORT; --say prints its last line; --exit-code exits at once.
var (
	serveCmd = []string{"hello", "--say", "hello"}
	exit3Cmd = []string{"hello", "--exit-code", "3"}
)

func TestConformance(t *testing.T) {
	image := dockertest.HelloImage(t)
	conformance.Run(t, conformance.Harness{
		New: func(t *testing.T, dir string) runtime.Driver {
			// Fixtures run in parallel on one engine with the same IDs
			// ("c1-serve"): each gets its own node and an ID prefix, so
			// that its containers' names and labels are its own.
			sum := sha256.Sum256([]byte(dir))
			tag := hex.EncodeToString(sum[:4])
			return prefixed{Driver: newDriver(t, "conformance-"+tag), p: tag + "-"}
		},
		Spec: func(t *testing.T, kind string) runtime.Spec {
			switch kind {
			case conformance.KindServe:
				return runtime.Spec{Image: image, Command: serveCmd, Ports: []api.PortSpec{{ContainerPort: 8080}}}
			case conformance.KindExit3:
				return runtime.Spec{Image: image, Command: exit3Cmd}
			case conformance.KindBad:
				// A missing entrypoint is no start failure here: the
				// engine's init starts and exits 127. A missing image
				// is; TestStartFailureLeavesNothing covers a container
				// that is created but fails to start.
				return runtime.Spec{Image: "wharf/no-such-image:never", Command: serveCmd}
			}
			t.Fatalf("unknown workload kind %q", kind)
			return runtime.Spec{}
		},
		Listens: true,
	})
}

// newDriver makes a driver for node on the engine at DOCKER_HOST, skipping
// the test when there is none (see dockertest.Require), and removes every
// container of node when the test ends.
func newDriver(t *testing.T, node string) *Driver {
	t.Helper()
	dockertest.Require(t)
	d, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d.SetNode(node)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		list, err := d.List(ctx)
		if err != nil {
			t.Errorf("cleanup: List: %v", err)
		}
		for _, st := range list {
			if err := d.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("cleanup: Remove(%s): %v", st.ID, err)
			}
		}
		d.Close()
	})
	return d
}

// prefixed runs a Driver under IDs prefixed with p, and shows them without.
type prefixed struct {
	*Driver
	p string
}

func (x prefixed) out(st runtime.Status) runtime.Status {
	st.ID = strings.TrimPrefix(st.ID, x.p)
	return st
}

func (x prefixed) Start(ctx context.Context, spec runtime.Spec) (runtime.Status, error) {
	spec.ID = x.p + spec.ID
	st, err := x.Driver.Start(ctx, spec)
	return x.out(st), err
}

func (x prefixed) Wait(ctx context.Context, id string) (runtime.Status, error) {
	st, err := x.Driver.Wait(ctx, x.p+id)
	return x.out(st), err
}

func (x prefixed) Stop(ctx context.Context, id string, timeout time.Duration) error {
	return x.Driver.Stop(ctx, x.p+id, timeout)
}

func (x prefixed) Remove(ctx context.Context, id string) error {
	return x.Driver.Remove(ctx, x.p+id)
}

func (x prefixed) Inspect(ctx context.Context, id string) (runtime.Status, error) {
	st, err := x.Driver.Inspect(ctx, x.p+id)
	return x.out(st), err
}

func (x prefixed) List(ctx context.Context) ([]runtime.Status, error) {
	list, err := x.Driver.List(ctx)
	for i := range list {
		list[i] = x.out(list[i])
	}
	return list, err
}

func (x prefixed) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	return x.Driver.Logs(ctx, x.p+id, opts, w)
}
