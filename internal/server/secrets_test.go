package server

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// openCA does what Run does before it serves: store, keyring, CA, and the
// scrub after a migration. It returns the CA and closes the store.
func openCA(t *testing.T, cfg Config) *pki.CA {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	st, emb, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { closeStore() }()
	sealer, err := openSealer(ctx, cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	ca, migrated, err := loadOrCreateCA(ctx, st, sealer, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if migrated {
		if _, closeStore, err = scrubStore(ctx, st, emb, closeStore, log); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

// keyTraces are byte strings that give the CA key away: its DER, each
// line of its PEM body, and the PEM label.
func keyTraces(t *testing.T, ca *pki.CA) [][]byte {
	t.Helper()
	_, keyPEM, err := ca.PEM()
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || !strings.Contains(blk.Type, "PRIVATE KEY") {
		t.Fatalf("the CA key's PEM: %q", keyPEM)
	}
	traces := [][]byte{blk.Bytes, []byte("PRIVATE KEY")}
	for line := range strings.SplitSeq(string(keyPEM), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			traces = append(traces, []byte(line))
		}
	}
	return traces
}

// etcdFilesWith lists the files under the embedded etcd's dir (the bbolt
// database, the WAL, snapshots) that hold any of the traces.
func etcdFilesWith(t *testing.T, dataDir string, traces [][]byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(dataDir, "etcd"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, tr := range traces {
			if bytes.Contains(b, tr) {
				found = append(found, p)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestCAKeyIsSealedAtRest: the CA key a new cluster makes is in none of
// the embedded etcd's files, not in the database and not in the WAL.
func TestCAKeyIsSealedAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	ca := openCA(t, Config{DataDir: dir})
	if found := etcdFilesWith(t, dir, keyTraces(t, ca)); len(found) > 0 {
		t.Fatalf("the CA private key is readable in %v", found)
	}
	if fi, err := os.Stat(filepath.Join(dir, "kek")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the KEK file: %v %v", fi, err)
	}
	// The next start opens the same CA with the same KEK.
	again := openCA(t, Config{DataDir: dir})
	if !again.Cert.Equal(ca.Cert) || !sameKey(t, again, ca) {
		t.Fatal("a restart made another CA")
	}
}

// TestPlaintextCAKeyIsMigrated: a cluster made by a version that stored
// the CA key in plaintext has it sealed on the first start, and the
// plaintext is gone from the etcd files, WAL included.
func TestPlaintextCAKeyIsMigrated(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "server")
	old, err := pki.NewCA("Wharf cluster CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := old.PEM()
	if err != nil {
		t.Fatal(err)
	}
	e, err := store.StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(e.Client, "/wharf")
	// As the old code wrote it.
	if err := st.Create(ctx, store.KindCluster, &caDoc{Meta: api.Meta{ID: "ca"}, CertPEM: string(certPEM), KeyPEM: string(keyPEM)}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	traces := keyTraces(t, old)
	if found := etcdFilesWith(t, dir, traces); len(found) == 0 {
		t.Fatal("the test's plaintext key is not in the etcd files to begin with")
	}

	ca := openCA(t, Config{DataDir: dir})
	if !ca.Cert.Equal(old.Cert) || !sameKey(t, ca, old) {
		t.Fatal("the migration changed the CA")
	}
	if found := etcdFilesWith(t, dir, traces); len(found) > 0 {
		t.Fatalf("after the migration the CA private key is still readable in %v", found)
	}
	// The data is all there, sealed, and the next start changes nothing.
	e, err = store.StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var doc caDoc
	err = store.New(e.Client, "/wharf").Get(ctx, store.KindCluster, "ca", &doc)
	e.Close()
	if err != nil || doc.KeyPEM != "" || !seal.IsSealed(doc.KeySealed) {
		t.Fatalf("stored CA after the migration: key_pem %d bytes, key_sealed %.20q, %v", len(doc.KeyPEM), doc.KeySealed, err)
	}
	if again := openCA(t, Config{DataDir: dir}); !sameKey(t, again, old) {
		t.Fatal("a restart after the migration made another CA")
	}
}

// TestWrongOrMissingKEKIsRefused: a server whose key-encryption key does
// not open the cluster's secrets does not start, and says which file or
// flag to fix.
func TestWrongOrMissingKEKIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "server")
	openCA(t, Config{DataDir: dir})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	try := func() error {
		cfg := Config{DataDir: dir, Out: io.Discard}
		st, _, closeStore, err := openStore(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeStore()
		_, err = openSealer(ctx, cfg, st, log)
		return err
	}
	kekFile := filepath.Join(dir, "kek")
	good, _ := os.ReadFile(kekFile)
	other, _ := seal.NewKEK()
	_ = os.Remove(kekFile)
	if err := seal.WriteKEKFile(kekFile, other); err != nil {
		t.Fatal(err)
	}
	if err := try(); err == nil || !strings.Contains(err.Error(), kekFile) || !strings.Contains(err.Error(), "--kek-file") {
		t.Fatalf("a wrong KEK: %v", err)
	}
	_ = os.Remove(kekFile)
	if err := try(); err == nil || !strings.Contains(err.Error(), "not at "+kekFile) {
		t.Fatalf("no KEK: %v", err)
	}
	if err := os.WriteFile(kekFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := try(); err != nil {
		t.Fatalf("the right KEK: %v", err)
	}
}

func sameKey(t *testing.T, a, b *pki.CA) bool {
	t.Helper()
	_, ka, err := a.PEM()
	if err != nil {
		t.Fatal(err)
	}
	_, kb, err := b.PEM()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ka, kb)
}

// TestRotateKEK: --rotate-kek replaces the KEK file's key; the old one
// opens nothing any more, and the CA (sealed by the data key) stays.
func TestRotateKEK(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	ca := openCA(t, Config{DataDir: dir})
	kekFile := filepath.Join(dir, "kek")
	before, _ := os.ReadFile(kekFile)
	rotated := openCA(t, Config{DataDir: dir, RotateKEK: true})
	after, _ := os.ReadFile(kekFile)
	if bytes.Equal(before, after) || !sameKey(t, ca, rotated) {
		t.Fatal("the KEK file did not change, or the CA did")
	}
	if fi, err := os.Stat(kekFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the new KEK file: %v %v", fi, err)
	}
	if again := openCA(t, Config{DataDir: dir}); !sameKey(t, ca, again) {
		t.Fatal("the rotated KEK does not open the CA")
	}
	_ = os.Remove(kekFile)
	if err := os.WriteFile(kekFile, before, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := Config{DataDir: dir, Out: io.Discard}
	st, _, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if _, err := openSealer(ctx, cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("the KEK from before the rotation still opens the cluster")
	}
}
