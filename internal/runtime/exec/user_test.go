package exec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/conformance"
)

// nobody is the unprivileged user of these tests; they need root to switch
// to it.
func nobody(t *testing.T) *User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running workloads as another user needs root")
	}
	u, err := LookupUser("nobody")
	if err != nil {
		t.Skip(err)
	}
	return u
}

// reachableDir is a new directory that every user may search, as may its
// parent (t.TempDir makes that one 0700).
func reachableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newUserDriver is newDriver running its workloads as u.
func newUserDriver(t *testing.T, dir string, u *User) *Driver {
	t.Helper()
	d, err := NewWithOptions(dir, Options{User: u})
	if err != nil {
		t.Fatalf("NewWithOptions(%s, %s): %v", dir, u, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, _ := d.List(ctx)
		for _, st := range list {
			if err := d.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("cleanup: Remove(%s): %v", st.ID, err)
			}
		}
	})
	return d
}

// whoami starts hostile.WhoAmICommand as id on d and returns what it saw.
func whoami(t *testing.T, d *Driver, id string) hostile.WhoAmI {
	t.Helper()
	spec := runtime.Spec{ID: id, Name: "svc-1", Service: "svc", Slot: 1, Node: "n1", Command: hostile.WhoAmICommand()}
	start(t, d, spec)
	out := waitLogs(t, d, id, func(s string) bool { return strings.Contains(s, "shadow=") })
	w, err := hostile.ParseWhoAmI(out)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWorkloadsHaveNoNewPrivileges: every run, even the agent's own user's,
// may not gain privileges through a setuid program.
func TestWorkloadsHaveNoNewPrivileges(t *testing.T) {
	d := newDriver(t, t.TempDir())
	if w := whoami(t, d, "nnp"); !w.NoNewPrivs {
		t.Fatalf("workload may gain privileges: %+v", w)
	}
	var out strings.Builder
	if code, err := d.Exec(ctx10(t), "nnp", []string{"/bin/sh", "-c", "grep NoNewPrivs /proc/self/status"}, &out); err != nil || code != 0 ||
		!strings.Contains(out.String(), "NoNewPrivs:\t1") {
		t.Fatalf("exec'd command: %d %v %q; want NoNewPrivs 1", code, err, out.String())
	}
}

// TestWorkloadRunsAsUser: with a User the workload runs as that user: it
// cannot read what only root can, yet it writes its working directory and
// its log; a command exec'd into it, a new driver adopting it and Stop all
// work as before.
func TestWorkloadRunsAsUser(t *testing.T) {
	u := nobody(t)
	dir := reachableDir(t)
	d := newUserDriver(t, dir, u)
	w := whoami(t, d, "who")
	if w.UID != int(u.UID) || w.ShadowRead || !w.NoNewPrivs {
		t.Fatalf("workload as %s: %+v; want uid %d, /etc/shadow refused, no new privileges", u, w, u.UID)
	}
	spec := shSpec("writer", `echo data > file && cat file && echo "home=$HOME" && exec sleep 300`)
	start(t, d, spec)
	out := waitLogs(t, d, spec.ID, func(s string) bool { return strings.Contains(s, "home=") })
	if !strings.Contains(out, "data\n") || !strings.Contains(out, "home="+filepath.Join(dir, spec.ID, workDir)) {
		t.Fatalf("workload could not write its working directory: %q", out)
	}

	// A new driver (an agent restart) adopts it; exec runs as the run's user.
	again := newUserDriver(t, dir, u)
	var idOut strings.Builder
	if code, err := again.Exec(ctx10(t), "who", []string{"/bin/sh", "-c", "id -u"}, &idOut); err != nil || code != 0 ||
		strings.TrimSpace(idOut.String()) != strconv.FormatUint(uint64(u.UID), 10) {
		t.Fatalf("exec after adoption: %d %v %q; want uid %d", code, err, idOut.String(), u.UID)
	}
	if err := again.Stop(ctx10(t), "who", 5*time.Second); err != nil {
		t.Fatalf("Stop as root of an adopted run of %s: %v", u, err)
	}
	if st, err := again.Inspect(ctx10(t), "who"); err != nil || st.State != runtime.StateExited {
		t.Fatalf("after Stop: %+v %v", st, err)
	}
}

// TestUnreachableDirSaysWhat: a driver directory the user cannot reach (a
// parent of mode 0700, as a home directory is) fails at once, naming the
// directory and the flags; so does a program the user may not execute.
func TestUnreachableDirSaysWhat(t *testing.T) {
	u := nobody(t)
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil { // as a home directory is
		t.Fatal(err)
	}
	_, err := NewWithOptions(filepath.Join(private, "exec"), Options{User: u})
	if err == nil || !strings.Contains(err.Error(), private) || !strings.Contains(err.Error(), "--exec-as-root") {
		t.Fatalf("NewWithOptions under a 0700 directory: %v; want an error naming %s and --exec-as-root", err, private)
	}
	d := newUserDriver(t, reachableDir(t), u)
	prog := filepath.Join(private, "prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = d.Start(ctx10(t), runtime.Spec{ID: "denied", Command: []string{prog}})
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "--exec-as-root") ||
		!strings.Contains(err.Error(), "nobody") {
		t.Fatalf("Start of a program the user cannot reach: %v", err)
	}
}

// TestConformanceAsUser runs the conformance suite with workloads run as
// an unprivileged user.
func TestConformanceAsUser(t *testing.T) {
	u := nobody(t)
	conformance.Run(t, conformance.Harness{
		New: func(t *testing.T, dir string) runtime.Driver {
			for _, p := range []string{dir, filepath.Dir(dir)} {
				if err := os.Chmod(p, 0o711); err != nil {
					t.Fatal(err)
				}
			}
			return newUserDriver(t, filepath.Join(dir, "exec"), u)
		},
		Spec: func(t *testing.T, kind string) runtime.Spec {
			switch kind {
			case conformance.KindServe:
				return runtime.Spec{Command: []string{"/bin/sh", "-c", "echo hello; exec sleep 300"}}
			case conformance.KindExit3:
				return runtime.Spec{Command: []string{"/bin/sh", "-c", "exit 3"}}
			case conformance.KindBad:
				return runtime.Spec{Command: []string{"/nonexistent/wharf-no-such-command"}}
			}
			t.Fatalf("unknown workload kind %q", kind)
			return runtime.Spec{}
		},
	})
}

// TestLookupUser: names and UIDs of the user database, and numeric UIDs
// and "nobody" on a host without one.
func TestLookupUser(t *testing.T) {
	if u, err := LookupUser("root"); err != nil || u.UID != 0 || u.GID != 0 {
		t.Errorf("root: %+v %v", u, err)
	}
	if u, err := LookupUser("4000000"); err != nil || u.UID != 4000000 || u.GID != 4000000 {
		t.Errorf("a UID not in the database: %+v %v", u, err)
	}
	if u, err := LookupUser("nobody"); err != nil || u.UID != Nobody {
		t.Errorf("nobody: %+v %v", u, err)
	}
	if _, err := LookupUser("wharf-no-such-user"); err == nil || !strings.Contains(err.Error(), "wharf-no-such-user") {
		t.Errorf("unknown user: %v", err)
	}
}
