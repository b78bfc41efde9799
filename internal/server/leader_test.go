package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/wharfhq/wharf/internal/store"
)

// electionEnv is an etcd for a test and a logger that drops everything.
func electionEnv(t *testing.T) (*store.Embedded, *slog.Logger) {
	t.Helper()
	e, err := store.StartEmbedded(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e, slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestLeadAfterACrash: a server that died while active left its candidacy
// on a lease that lives for the whole TTL. Run again on the same data dir,
// it revokes that lease and is active at once; another server's candidacy
// is left alone.
func TestLeadAfterACrash(t *testing.T) {
	ctx := context.Background()
	e, log := electionEnv(t)
	dir := t.TempDir()
	id, err := serverID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := serverID(dir); err != nil || again != id {
		t.Fatalf("server ID is not lasting: %q then %q (%v)", id, again, err)
	}

	// The previous run: elected, then gone without a resign (its lease
	// lives on for a minute).
	old, err := concurrency.NewSession(e.Client, concurrency.WithTTL(60))
	if err != nil {
		t.Fatal(err)
	}
	if err := concurrency.NewElection(old, leaderPrefix).Campaign(ctx, id+" https://old:7443"); err != nil {
		t.Fatal(err)
	}
	old.Orphan()

	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	l, err := lead(lctx, e.Client, dir, "https://new:7443", 60*time.Second, log)
	if err != nil {
		t.Fatalf("not active again on the same data dir within 20s (the old lease lives 60s): %v", err)
	}
	defer l.resign()

	// Another server (its own data dir) waits as a standby.
	other := t.TempDir()
	sctx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	if _, err := lead(sctx, e.Client, other, "https://other:7443", 60*time.Second, log); err == nil {
		t.Fatal("a second server became active beside the first")
	}
	if b, err := os.ReadFile(filepath.Join(other, "server-id")); err != nil || string(b) == id+"\n" {
		t.Fatalf("the second server's ID: %q %v", b, err)
	}
}

// TestStandbyTakesOverWhenTheActiveDies: the active server stops renewing
// its lease (as a killed process does); the standby becomes active once
// the lease expires, and the old term reports itself lost.
func TestStandbyTakesOverWhenTheActiveDies(t *testing.T) {
	ctx := context.Background()
	e, log := electionEnv(t)
	active, err := lead(ctx, e.Client, t.TempDir(), "https://a:7443", 2*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		l   *leadership
		err error
	}
	standby := make(chan result, 1)
	go func() {
		l, err := lead(ctx, e.Client, t.TempDir(), "https://b:7443", 2*time.Second, log)
		standby <- result{l, err}
	}()
	select {
	case r := <-standby:
		t.Fatalf("the standby became active while the first one renews its lease: %v", r.err)
	case <-time.After(3 * time.Second): // longer than the TTL: the renewals hold it off
	}
	active.sess.Orphan() // the process is gone: no more renewals
	select {
	case <-active.lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the dead term does not report itself lost")
	}
	select {
	case r := <-standby:
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.l.resign()
	case <-time.After(30 * time.Second):
		t.Fatal("the standby did not take over within 30s of the active server's death (lease TTL 2s)")
	}
}
