package server

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/registry/registrytest"
)

// TestRegistryKeyPersistsSealed: the registry key is made once, read back
// the same after a restart (so blob uploads and node pull credentials
// survive it), and is in none of the data dir's files in clear.
func TestRegistryKeyPersistsSealed(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Out: io.Discard}
	log := slog.New(slog.DiscardHandler)
	open := func() []byte {
		t.Helper()
		ctx := context.Background()
		st, _, closeStore, err := openStore(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeStore()
		sealer, err := openSealer(ctx, cfg, st, log)
		if err != nil {
			t.Fatal(err)
		}
		key, err := loadOrCreateRegistryKey(ctx, st, sealer)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	first := open()
	if len(first) != 32 {
		t.Fatalf("key of %d bytes", len(first))
	}
	if again := open(); !bytes.Equal(first, again) {
		t.Fatal("the registry key changed across a restart")
	}
	if bytes.Equal(derive(first, "distribution http secret"), derive(first, "node pull credentials")) {
		t.Fatal("the derived keys are the same")
	}
	err := filepath.WalkDir(cfg.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, first) {
			t.Errorf("%s holds the registry key in clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPeriodicRegistryGC: --registry-gc-interval frees a removed image's
// blobs without anyone asking.
func TestPeriodicRegistryGC(t *testing.T) {
	dir := t.TempDir()
	images, err := registry.New(t.Context(), registry.Config{Dir: dir, HTTPSecret: "s", GCQuiet: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer images.Close()
	srv := httptest.NewServer(images.Handler())
	defer srv.Close()
	registrytest.Push(t, srv.Client(), srv.URL, nil, "default/app", "v1", "one")
	registrytest.Push(t, srv.Client(), srv.URL, nil, "default/app", "v2", "two")
	if err := images.Remove(t.Context(), "default/app", "v2", ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		collectPeriodically(ctx, images, 20*time.Millisecond, slog.New(slog.DiscardHandler))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	// The stored blobs, as files: 6 pushed (two manifests, configs and
	// layers), 3 once v2's are collected.
	blobs := func() int {
		n := 0
		_ = filepath.WalkDir(filepath.Join(dir, "docker", "registry", "v2", "blobs"), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "data" {
				n++
			}
			return nil
		})
		return n
	}
	if n := blobs(); n != 6 {
		t.Fatalf("%d blobs before", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for blobs() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d blobs after periodic gc, want 3", blobs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
