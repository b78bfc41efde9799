package seal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func testSealer(t *testing.T) *Sealer {
	t.Helper()
	k, err := NewKEK()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealer(k.b[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := testSealer(t)
	secret := []byte("-----BEGIN EC PRIVATE KEY-----\nabc\n")
	a, err := s.Seal("cluster/ca", secret)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Seal("cluster/ca", secret)
	if a == b {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	if !IsSealed(a) || IsSealed(string(secret)) || strings.Contains(a, "PRIVATE") {
		t.Fatalf("sealed value %q", a)
	}
	got, err := s.Open("cluster/ca", a)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("registry/x", a); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("opened under another purpose: %v", err)
	}
	if _, err := testSealer(t).Open("cluster/ca", a); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("opened with another data key: %v", err)
	}
	tampered := a[:len(a)-2] + "AA"
	if _, err := s.Open("cluster/ca", tampered); err == nil {
		t.Fatal("opened a tampered value")
	}
	for _, bad := range []string{"", "plain", sealedPrefix + "!!", sealedPrefix + "AAAA"} {
		if _, err := s.Open("cluster/ca", bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestKEKText(t *testing.T) {
	k, _ := NewKEK()
	got, err := ParseKEK("  " + k.String() + "\n")
	if err != nil || got != k {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "WHARF-KEK-1-short", "SWMKEY-1-abc", k.String()[:len(k.String())-1]} {
		if _, err := ParseKEK(bad); err == nil {
			t.Errorf("ParseKEK(%q) succeeded", bad)
		}
	}
}

func TestKEKFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kek")
	k, _ := NewKEK()
	if err := WriteKEKFile(p, k); err != nil {
		t.Fatal(err)
	}
	if err := WriteKEKFile(p, k); err == nil {
		t.Fatal("WriteKEKFile overwrote a KEK file")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if got, err := ReadKEKFile(p); err != nil || got != k {
		t.Fatalf("ReadKEKFile: %v", err)
	}
	_ = os.Chmod(p, 0o644)
	if _, err := ReadKEKFile(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable KEK file was accepted: %v", err)
	}
}

func TestKeyring(t *testing.T) {
	ctx := context.Background()
	e, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st := store.New(e.Client, "/wharf")
	if _, err := LoadKeyring(ctx, st); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LoadKeyring on a new store: %v", err)
	}
	kek, _ := NewKEK()
	_, s, err := CreateKeyring(ctx, st, kek, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := CreateKeyring(ctx, st, kek, false); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second CreateKeyring: %v", err)
	}
	sealed, _ := s.Seal("x", []byte("secret"))

	kr, err := LoadKeyring(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKEK()
	if _, err := kr.Open(other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("opened with another KEK: %v", err)
	}
	next, _ := NewKEK()
	if err := kr.Rewrap(ctx, st, kek, next, true); err != nil {
		t.Fatal(err)
	}
	kr, _ = LoadKeyring(ctx, st)
	if !kr.Autolock {
		t.Fatal("autolock not stored")
	}
	if _, err := kr.Open(kek); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("the old KEK still opens the keyring after a rotation: %v", err)
	}
	s2, err := kr.Open(next)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open("x", sealed); err != nil || string(got) != "secret" {
		t.Fatalf("a secret sealed before the rotation: %q %v", got, err)
	}
	raw, _ := e.Client.Get(ctx, st.Key(store.KindCluster, keyringID))
	if bytes.Contains(raw.Kvs[0].Value, next.b[:]) || bytes.Contains(raw.Kvs[0].Value, []byte(next.String())) {
		t.Fatal("the KEK is in the store")
	}
}
