package server

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
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
