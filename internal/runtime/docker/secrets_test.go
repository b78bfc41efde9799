package docker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// secretsDriver is a driver for node whose secrets directory is a new
// temporary one (a tmpfs is mounted there when the test may, and
// unmounted at the end).
func secretsDriver(t *testing.T, node string) (*Driver, string) {
	t.Helper()
	dockertest.Require(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) }) // after the driver's cleanup
	d := newDriver(t, node)
	d.secretsDir = dir
	return d, dir
}

// TestSecretFilesInContainer: the container has its secrets at
// /run/secrets/<target> (read through the engine, as the test image has
// no shell), read-only bind mounts of files on a tmpfs that only root may
// enter; the value is in no part of the container's configuration; a new
// version of a secret makes a new container; Remove deletes the files.
func TestSecretFilesInContainer(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d, dir := secretsDriver(t, "secrets-"+t.Name())
	const value = "docker-CANARY-9f8e7d"
	sp := runtime.Spec{ID: "sec1", Name: "web-1", Service: "web", Slot: 1, Image: image,
		Command: serveCmd,
		Secrets: []api.SecretFile{
			{Target: "pw", Mode: 0o400, Data: []byte(value), Version: "s1.1"},
			{Target: "cert.pem", Mode: 0o444, Data: []byte("CERT"), Version: "s2.1"},
		}}
	sp.SecretsVersion = runtime.SecretsVersion(sp.Secrets)
	st, err := d.Start(ctx20(t), sp)
	if err != nil {
		t.Fatal(err)
	}
	if got := getFile(t, d.cli, st.DriverID, "/run/secrets/pw"); got != value {
		t.Fatalf("/run/secrets/pw holds %q", got)
	}
	if got := getFile(t, d.cli, st.DriverID, "/run/secrets/cert.pem"); got != "CERT" {
		t.Fatalf("/run/secrets/cert.pem holds %q", got)
	}
	for target, mode := range map[string]os.FileMode{"pw": 0o400, "cert.pem": 0o444} {
		m := mountAt(t, d.cli, st.DriverID, "/run/secrets/"+target)
		if m.Type != mount.TypeBind || m.RW || m.Source != filepath.Join(dir, sp.ID, target) {
			t.Errorf("mount of %s: %+v", target, m)
		}
		fi, err := os.Stat(m.Source)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("host file %s: %v %v, want mode %v", m.Source, fi.Mode(), err, mode)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, sp.ID)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("container's secrets directory: %v %v", fi.Mode(), err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && fs.Type != unix.TMPFS_MAGIC {
		t.Errorf("the secrets directory is not on a tmpfs (type %#x)", fs.Type)
	}
	in, err := d.cli.ContainerInspect(ctx20(t), st.DriverID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(in.Container)
	if strings.Contains(string(cfg), value) {
		t.Fatalf("the container's configuration holds the value: %s", cfg)
	}

	// A new value: the same ID, stopped, starts a new container with it.
	if err := d.Stop(ctx20(t), sp.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	sp.Secrets[0].Data, sp.Secrets[0].Version = []byte(value+"-v2"), "s1.2"
	sp.SecretsVersion = runtime.SecretsVersion(sp.Secrets)
	st2, err := d.Start(ctx20(t), sp)
	if err != nil {
		t.Fatal(err)
	}
	if st2.DriverID == st.DriverID {
		t.Fatal("a new secret version started the old container again")
	}
	if got := getFile(t, d.cli, st2.DriverID, "/run/secrets/pw"); got != value+"-v2" {
		t.Fatalf("the new container's /run/secrets/pw holds %q", got)
	}
	if err := d.Remove(ctx20(t), sp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sp.ID)); !os.IsNotExist(err) {
		t.Fatalf("secret files after Remove: %v", err)
	}
}
