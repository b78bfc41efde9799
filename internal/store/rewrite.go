package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.etcd.io/etcd/server/v3/storage/backend"
	"go.uber.org/zap"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Rewrite drops the embedded etcd's history, so that values overwritten
// before it (a plaintext secret that was then sealed) are gone from its
// files, not just from its current state. Compaction and defragmentation
// clean the database file, but the write-ahead log keeps every entry until
// its 64 MB segment is cut and purged, which may be never on a quiet
// cluster. So Rewrite takes a snapshot of the compacted, defragmented
// database, stops etcd, restores the snapshot into a fresh etcd dir (a new
// log that starts at the snapshot), swaps it in for the old one, removes
// the old one, and starts etcd again. e is closed; use the returned one.
// Nothing may be using e meanwhile. The files are removed, not wiped: the
// old blocks stay on the disk until the file system reuses them.
func (e *Embedded) Rewrite(ctx context.Context) (*Embedded, error) {
	resp, err := e.Client.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		return nil, fmt.Errorf("rewrite etcd: %w", err)
	}
	if _, err := e.Client.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		return nil, fmt.Errorf("rewrite etcd: compact: %w", err)
	}
	be := e.etcd.Server.Backend()
	if err := be.Defrag(); err != nil {
		return nil, fmt.Errorf("rewrite etcd: defragment: %w", err)
	}
	dir := e.dir
	snap := filepath.Join(dir, "etcd-rewrite.db")
	if err := writeSnapshot(be.Snapshot(), snap); err != nil {
		return nil, fmt.Errorf("rewrite etcd: snapshot: %w", err)
	}
	defer func() { _ = os.Remove(snap) }()
	e.Close()

	cur, next, old := filepath.Join(dir, "etcd"), filepath.Join(dir, "etcd.new"), filepath.Join(dir, "etcd.old")
	if err := os.RemoveAll(next); err != nil {
		return nil, err
	}
	err = snapshot.NewV3(zap.NewNop()).Restore(snapshot.RestoreConfig{
		SnapshotPath: snap, Name: memberName, OutputDataDir: next,
		PeerURLs: []string{peerAdvertiseURL(dir)}, InitialCluster: memberName + "=" + peerAdvertiseURL(dir),
		InitialClusterToken: "etcd-cluster", SkipHashCheck: true, // a backend snapshot has no hash appended
	})
	if err != nil {
		_ = os.RemoveAll(next)
		return nil, fmt.Errorf("rewrite etcd: restore the snapshot: %w (the old data in %s is untouched)", err, cur)
	}
	if err := os.Rename(cur, old); err != nil {
		return nil, fmt.Errorf("rewrite etcd: %w", err)
	}
	if err := os.Rename(next, cur); err != nil {
		return nil, fmt.Errorf("rewrite etcd: %w (the old data is in %s)", err, old)
	}
	if err := os.RemoveAll(old); err != nil {
		return nil, fmt.Errorf("rewrite etcd: remove the old history in %s: %w", old, err)
	}
	return StartEmbedded(ctx, dir)
}

// finishRewrite completes a Rewrite that a crash interrupted, before etcd
// starts in dir: the restored copy replaces a missing etcd dir, and the old
// history is removed once the new one is in place.
func finishRewrite(dir string) error {
	cur, next, old := filepath.Join(dir, "etcd"), filepath.Join(dir, "etcd.new"), filepath.Join(dir, "etcd.old")
	if _, err := os.Stat(cur); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(next); err == nil {
			if err := os.Rename(next, cur); err != nil {
				return err
			}
		} else if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, cur); err != nil { // the restore never finished
				return err
			}
		}
	}
	_ = os.RemoveAll(next)
	return os.RemoveAll(old)
}

func writeSnapshot(snap backend.Snapshot, path string) error {
	defer func() { _ = snap.Close() }()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := snap.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
