package fault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/test/multihost"
)

const (
	// dataSize is the size of the tmpfs the disk-full scenario gives the
	// server's data dir: the embedded etcd takes about 128 MiB (a 64 MiB
	// WAL segment and the next one, allocated ahead) and the disk guard
	// keeps a reserve of 128 MiB.
	dataSize = "320m"
	// leaveFree is what the filler leaves: under the guard's reserve.
	leaveFree = 48 << 20
)

// TestDiskFull is scenario (f): the server's data dir (embedded etcd) is on
// a small tmpfs, which the test fills. The server must refuse writes with a
// clear error (507, insufficient_storage) and keep serving reads, agents
// and workloads, and take writes again once space returns, without a
// restart.
func TestDiskFull(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		dir := smallDisk(t)
		f := start(t, load{"web": 3}, multihost.Options{Agents: 2, ServerDocker: []string{"-v", dir + ":/data"}})
		before := f.running(t)
		filler := filepath.Join(dir, "filler")
		n := fill(t, filler, leaveFree)
		filled := time.Now()
		t.Logf("filled the data dir with %d MiB, %d MiB left", n>>20, free(t, dir)>>20)

		out, err := f.Try("service", "create", "--detach", "--name", "full", "--replicas", "1", "--", "/wharf", "hello")
		if err == nil {
			t.Fatalf("create on a full disk succeeded: %s", out)
		}
		for _, want := range []string{"nearly full", "/data", "free space"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal does not say %q: %v", want, err)
			}
		}
		t.Logf("create on a full disk refused: %v", err)
		if _, err := f.Try("node", "label", "node-1", "full=yes"); err == nil {
			t.Error("node label on a full disk succeeded")
		}
		// The server stays up: reads, agents and workloads go on while full.
		multihost.Eventually(t, 10*time.Second, "reads while full", func() error {
			_, err := f.Try("service", "ls")
			return err
		})
		time.Sleep(5 * time.Second) // let heartbeats and status reports write
		if st, _ := multihost.Docker("inspect", "--format", "{{.State.Status}}", f.Server); st != "running" {
			t.Fatalf("server is %s on a full disk", st)
		}
		if err := f.exactlyOnce(f.Agents); err != nil {
			t.Errorf("while full: %v", err)
		}
		f.noRestarts(t, before)

		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		freed := time.Now()
		d := multihost.Eventually(t, 30*time.Second, "a create once space is back", func() error {
			_, err := f.Try("service", "create", "--detach", "--name", "after", "--replicas", "1", "--", "/wharf", "hello")
			return err
		})
		f.load["after"] = 1
		multihost.Eventually(t, 30*time.Second, "the new service runs", func() error { return f.exactlyOnce(f.Agents) })
		t.Logf("figure f: writes refused with 507 while full (%s), accepted %s after space returned, no restart",
			secs(freed.Sub(filled)), secs(d))
	})
}

// smallDisk mounts a tmpfs of dataSize on a new directory and returns it;
// it is unmounted in t.Cleanup, after the cluster is gone. The test is
// skipped when it may not mount (it is not root).
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+dataSize+",mode=0700"); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot mount a tmpfs for the data dir (needs root): %v", err)
		}
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// free is the free space of dir's filesystem.
func free(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize) //nolint:gosec // Bsize is positive
}

// fill writes a file until its filesystem has at most leave bytes free and
// returns the file's size.
func fill(t *testing.T, path string, leave uint64) int64 {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fh.Close() }()
	buf := make([]byte, 1<<20)
	var n int64
	for range 1 << 14 { // bounded: 16 GiB
		if free(t, filepath.Dir(path)) <= leave {
			return n
		}
		w, err := fh.Write(buf)
		n += int64(w)
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: %s written and still more than %d bytes free", path, fmt.Sprint(n), leave)
	return n
}
