package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// lockedBuffer is a log sink shared by the server, the agent and the
// driver.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPullFromPrivateRegistry: the whole path of a private image. A
// service of an image in a registry that needs a credential is refused
// without one (nothing made); with `registry login` it is pinned to the
// pushed digest, the node pulls it with the credential and it runs. A tag
// moved afterwards changes no running container; a redeploy runs the new
// digest. The password is in no store file, API answer, event or log.
func TestPullFromPrivateRegistry(t *testing.T) {
	cli := dockertest.Require(t)
	const password = "e2e-CANARY-pull-pw-41f9"
	reg := dockertest.StartRegistry(t, "ci", password)
	ref := reg.Host + "/wharf/private:v1"
	first := reg.PushImage(t, cli, dockertest.VariantImage(t, "private-1"), ref)
	t.Cleanup(func() { dockertest.RemoveImage(t, cli, ref) })

	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := newDockerDriver(t, docker.Options{Logger: log})
	c := Start(t, Options{Logger: log})
	joinedWith(t, c, "n1", nil, d)
	ctx := context.Background()
	spec := api.ServiceSpec{Image: ref, Command: []string{"hello", "--say", "hi"}, Replicas: 1,
		Ports: []api.PortSpec{{ContainerPort: 8080}}}

	// Refused without a credential, naming image and registry.
	if _, err := c.Client.CreateService(ctx, "priv", spec); err == nil ||
		!strings.Contains(err.Error(), "registry "+reg.Host+" wants a credential") || !strings.Contains(err.Error(), ref) {
		t.Fatalf("create without a credential: %v", err)
	}
	if _, err := c.Client.Service(ctx, "priv"); err == nil {
		t.Fatal("the refused create left a service")
	}
	if _, err := c.Client.RegistryLogin(ctx, reg.Host, "ci", password); err != nil {
		t.Fatal(err)
	}
	svc, err := c.Client.CreateService(ctx, "priv", spec)
	if err != nil {
		t.Fatalf("create with the credential: %v", err)
	}
	if svc.ResolvedImage != ref+"@"+first {
		t.Fatalf("resolved %q, want %q", svc.ResolvedImage, ref+"@"+first)
	}
	runs := func(image string) {
		t.Helper()
		waitService(t, c, "priv", func(s api.Service, cts []api.Container) error {
			for _, ct := range cts {
				if ct.Spec.Desired == api.ContainerRunning && ct.Spec.Image == image && ct.Status.State == api.ContainerRunning {
					return nil
				}
			}
			b, _ := json.Marshal(cts)
			return fmt.Errorf("no container of %s runs: %s", image, b)
		})
	}
	runs(ref + "@" + first)

	// The tag moves: the running container keeps its digest.
	second := reg.PushImage(t, cli, dockertest.VariantImage(t, "private-2"), ref)
	if second == first {
		t.Fatal("the second push has the first digest")
	}
	time.Sleep(time.Second)
	cts, err := c.Client.Containers(ctx, "priv", "")
	if err != nil || len(cts) != 1 || cts[0].Spec.Image != ref+"@"+first || cts[0].Status.State != api.ContainerRunning {
		t.Fatalf("after the tag moved: %+v, %v", cts, err)
	}
	// A redeploy resolves it anew and runs the new digest.
	if svc, err = c.Client.RedeployService(ctx, "priv"); err != nil || svc.ResolvedImage != ref+"@"+second {
		t.Fatalf("redeploy: %+v, %v", svc.ResolvedImage, err)
	}
	runs(ref + "@" + second)

	// The password is nowhere.
	var answers []any
	for _, get := range []func() (any, error){
		func() (any, error) { return c.Client.Service(ctx, "priv") },
		func() (any, error) { return c.Client.Containers(ctx, "priv", "") },
		func() (any, error) { return c.Client.Events(ctx, "0") },
		func() (any, error) { return c.Client.RegistryLogins(ctx) },
	} {
		v, err := get()
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, v)
	}
	if b, _ := json.Marshal(answers); bytes.Contains(b, []byte(password)) {
		t.Errorf("an API answer carries the password: %s", b)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the logs carry the password")
	}
	err = filepath.WalkDir(c.DataDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // a socket or the like
		}
		if bytes.Contains(b, []byte(password)) {
			t.Errorf("%s holds the password in clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
