package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/hostile"
)

// TestNoOtherUserReachesTheEmbeddedEtcd is the raft poke of issue 10: an
// unprivileged local user (nobody) finds every listener of the process
// running the embedded etcd and tries to talk to it. Each must turn them
// away; an abstract unix socket (no file, so no permissions) never could.
func TestNoOtherUserReachesTheEmbeddedEtcd(t *testing.T) {
	if !hostile.CanRunAsNobody() {
		t.Skip("needs root to run the probe as nobody")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "server")
	e, err := StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// The cluster is served while nobody probes: a poke must not get in.
	if _, err := e.Client.Put(ctx, "/wharf/probe", "x"); err != nil {
		t.Fatal(err)
	}
	ls, err := hostile.Listeners(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) < 2 {
		t.Fatalf("found %v; want at least etcd's peer and client listeners", ls)
	}
	for _, l := range ls {
		if l.Abstract() {
			t.Errorf("%s is an abstract unix socket: any local user can connect to it", l)
		} else if l.Network == "unix" && !strings.HasPrefix(l.Addr, dir+"/") {
			t.Errorf("%s is outside the data dir %s", l, dir)
		}
	}
	got, err := hostile.ProbeAsNobody(ctx, ls)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		t.Log(a)
		if !a.Refused() {
			t.Errorf("user nobody reached %s", a)
		}
	}
}

// TestLooseDataDirIsMadePrivate: a data dir that exists with group and
// world access is tightened before anything secret goes into it.
func TestLooseDataDirIsMadePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	fixed, err := EnsurePrivateDir(dir)
	if err != nil || !fixed {
		t.Fatalf("EnsurePrivateDir = %v, %v; want fixed", fixed, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode after: %v %v", fi.Mode(), err)
	}
	if fixed, err := EnsurePrivateDir(dir); err != nil || fixed {
		t.Fatalf("second call = %v, %v; want nothing to fix", fixed, err)
	}
}

// TestDataDirOfAnotherUserIsRefused: a data dir that another user owns
// could be read by them, so the server does not start in it.
func TestDataDirOfAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := filepath.Join(t.TempDir(), "server")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, hostile.NobodyUID, hostile.NobodyUID); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsurePrivateDir(dir); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Fatalf("EnsurePrivateDir = %v; want a refusal naming the owner", err)
	}
}
