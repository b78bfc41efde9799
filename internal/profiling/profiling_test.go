//go:build unix

package profiling

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// gzipMagic starts every pprof file (they are gzipped protocol buffers).
var gzipMagic = []byte{0x1f, 0x8b}

func wantProfile(t *testing.T, name string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, gzipMagic) {
		t.Fatalf("%s: not a pprof file (%d bytes)", name, len(b))
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("%s: mode %o, want 600", name, m)
	}
}

func TestSignalStepsAndStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "prof")
	p, err := Start(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Fatalf("profile dir mode %o, want 700", m)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "cpu-1.pprof")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no cpu-1.pprof 10 s after SIGUSR1")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantProfile(t, filepath.Join(dir, "heap-1.pprof"))
	wantProfile(t, filepath.Join(dir, "cpu-1.pprof"))
	if b, err := os.ReadFile(filepath.Join(dir, "goroutine-1.txt")); err != nil || !bytes.Contains(b, []byte("TestSignalStepsAndStop")) {
		t.Fatalf("goroutine-1.txt does not show this test's goroutine: %v\n%s", err, b)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	wantProfile(t, filepath.Join(dir, "cpu-2.pprof"))
	left, err := filepath.Glob(filepath.Join(dir, ".*"))
	if err != nil || len(left) != 0 {
		t.Fatalf("temporary files left: %v %v", left, err)
	}
}

func TestStartRefusesAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(f, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Start on a regular file: no error")
	}
}
