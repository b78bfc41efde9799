package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// The test image holds nothing but the wharf binary, so files go in and
// out of containers through the engine's archive API, which honours a
// mount's read-only flag as the workload's writes would.

// TestNamedVolumeOutlivesContainer: a named volume is created with Wharf's
// labels, keeps what a container wrote after that container is removed,
// and a new container mounting it reads it back.
func TestNamedVolumeOutlivesContainer(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	node := "vol-" + t.Name()
	vol := testVolume(t, dockertest.Require(t)) // removed after the driver's containers
	d := newDriver(t, node)
	mnt := []api.VolumeMount{{Type: api.VolumeNamed, Source: vol, Target: "/data"}}

	first := spec(image, "vol1")
	first.Mounts = mnt
	st, err := d.Start(ctx20(t), first)
	if err != nil {
		t.Fatal(err)
	}
	if m := mountAt(t, d.cli, st.DriverID, "/data"); m.Type != mount.TypeVolume || m.Name != vol || !m.RW {
		t.Errorf("mount at /data = %+v, want volume %s read-write", m, vol)
	}
	putFile(t, d.cli, st.DriverID, "/data", "note.txt", "kept")
	in, err := d.cli.VolumeInspect(ctx20(t), vol, client.VolumeInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"wharf.managed": "true", "wharf.node": node, "wharf.service": "web", "wharf.slot": "1"}
	for k, v := range want {
		if got := in.Volume.Labels[k]; got != v {
			t.Errorf("volume label %s = %q, want %q", k, got, v)
		}
	}

	if err := d.Remove(ctx20(t), first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.cli.VolumeInspect(ctx20(t), vol, client.VolumeInspectOptions{}); err != nil {
		t.Fatalf("volume after Remove of its container: %v, want it kept", err)
	}

	second := spec(image, "vol2")
	second.Mounts = mnt
	st, err = d.Start(ctx20(t), second)
	if err != nil {
		t.Fatal(err)
	}
	if got := getFile(t, d.cli, st.DriverID, "/data/note.txt"); got != "kept" {
		t.Errorf("the new container reads %q from the volume, want %q", got, "kept")
	}
}

// TestReadOnlyBind: a read-only bind mount of a host directory is readable
// and not writable; a missing source fails Start clearly and leaves
// nothing behind.
func TestReadOnlyBind(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "bind-"+t.Name())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := spec(image, "bind1")
	s.Mounts = []api.VolumeMount{{Type: api.VolumeBind, Source: dir, Target: "/host", ReadOnly: true}}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if m := mountAt(t, d.cli, st.DriverID, "/host"); m.Type != mount.TypeBind || m.Source != dir || m.RW {
		t.Errorf("mount at /host = %+v, want a read-only bind of %s", m, dir)
	}
	if got := getFile(t, d.cli, st.DriverID, "/host/in.txt"); got != "from the host" {
		t.Errorf("read %q through the bind mount, want %q", got, "from the host")
	}
	_, err = d.cli.CopyToContainer(ctx20(t), st.DriverID, client.CopyToContainerOptions{
		DestinationPath: "/host", Content: tarOf(t, "out.txt", "no"),
	})
	if err == nil {
		t.Error("writing into the read-only bind mount succeeded, want it refused")
	} else {
		t.Logf("writing into the read-only bind mount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("out.txt on the host: %v, want it absent", err)
	}

	missing := spec(image, "bind2")
	src := filepath.Join(dir, "no-such-dir")
	missing.Mounts = []api.VolumeMount{{Type: api.VolumeBind, Source: src, Target: "/host"}}
	_, err = d.Start(ctx20(t), missing)
	if err == nil || !strings.Contains(err.Error(), "bind mount source "+src+" does not exist on this node") {
		t.Fatalf("Start with a missing bind source: %v, want it to name the source", err)
	}
	if _, err := d.Inspect(ctx20(t), missing.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after the failed Start: %v, want ErrNotFound", err)
	}
}

// TestUserLabels: a spec's labels are on the container beside Wharf's,
// which stay intact; a label under Wharf's prefix is refused.
func TestUserLabels(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	node := "ulabels-" + t.Name()
	d := newDriver(t, node)
	s := spec(image, "ulabel1")
	s.Labels = map[string]string{"team": "data", "com.example.tier": "", "wharfish": "yes"}
	st, err := d.Start(ctx20(t), s)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.cli.ContainerInspect(ctx20(t), st.DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Container.Config.Labels
	want := map[string]string{"team": "data", "com.example.tier": "", "wharfish": "yes",
		"wharf.managed": "true", "wharf.id": s.ID, "wharf.node": node, "wharf.service": "web", "wharf.slot": "1", "wharf.name": "web-1"}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("label %s = %q (set: %v), want %q", k, g, ok, v)
		}
	}
	if list, err := d.List(ctx20(t)); err != nil || len(list) != 1 || list[0].ID != s.ID {
		t.Errorf("List = %+v, %v; want the labelled container", list, err)
	}

	bad := spec(image, "ulabel2")
	bad.Labels = map[string]string{"wharf.node": "elsewhere"}
	if _, err := d.Start(ctx20(t), bad); err == nil || !strings.Contains(err.Error(), `"wharf."`) {
		t.Errorf("Start with a wharf.* user label: %v, want it refused", err)
	}
	if _, err := d.Inspect(ctx20(t), bad.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after the refused Start: %v, want ErrNotFound", err)
	}
}

// testVolume is a fresh volume name, whose volume is removed when the test
// ends: call it before newDriver, so that the driver's cleanup has removed
// the containers using the volume by then.
func testVolume(t *testing.T, cli *client.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "wharf-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil {
			t.Errorf("cleanup: remove volume %s: %v", name, err)
		}
	})
	return name
}

// mountAt returns the mount at target of the docker container id.
func mountAt(t *testing.T, cli *client.Client, id, target string) container.MountPoint {
	t.Helper()
	res, err := cli.ContainerInspect(ctx20(t), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Container.Mounts {
		if m.Destination == target {
			return m
		}
	}
	t.Fatalf("container %s has no mount at %s: %+v", id, target, res.Container.Mounts)
	return container.MountPoint{}
}

// tarOf is a tar archive of one file.
func tarOf(t *testing.T, name, content string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// putFile writes dir/name in the docker container id.
func putFile(t *testing.T, cli *client.Client, id, dir, name, content string) {
	t.Helper()
	if _, err := cli.CopyToContainer(ctx20(t), id, client.CopyToContainerOptions{DestinationPath: dir, Content: tarOf(t, name, content)}); err != nil {
		t.Fatalf("write %s/%s in container %s: %v", dir, name, id, err)
	}
}

// getFile reads the file at p in the docker container id.
func getFile(t *testing.T, cli *client.Client, id, p string) string {
	t.Helper()
	res, err := cli.CopyFromContainer(ctx20(t), id, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		t.Fatalf("read %s in container %s: %v", p, id, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		t.Fatalf("read %s in container %s: %v", p, id, err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
