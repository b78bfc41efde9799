package agent

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// recDriver is a fake driver that names an engine version and records
// SetNode and List calls in order.
type recDriver struct {
	*fake.Driver
	mu    sync.Mutex
	calls []string
}

func (d *recDriver) EngineVersion(context.Context) (string, error) { return "27.1.0", nil }

func (d *recDriver) SetNode(id string) {
	d.mu.Lock()
	d.calls = append(d.calls, "SetNode "+id)
	d.mu.Unlock()
}

func (d *recDriver) List(ctx context.Context) ([]runtime.Status, error) {
	d.mu.Lock()
	d.calls = append(d.calls, "List")
	d.mu.Unlock()
	return d.Driver.List(ctx)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestFacts(t *testing.T) {
	a := &Agent{cfg: Config{Hostname: "h", DataDir: t.TempDir(), Drivers: []runtime.Driver{&recDriver{Driver: fake.New()}}}, log: quiet()}
	h := facts(context.Background(), a)
	if h.Kernel == "" || h.DiskBytes <= 0 || h.EngineVersion != "27.1.0" || time.Since(h.Time) > time.Minute || h.Time.After(time.Now()) {
		t.Fatalf("facts: kernel %q disk %d engine %q time %v", h.Kernel, h.DiskBytes, h.EngineVersion, h.Time)
	}
	a.cfg.Addresses = []string{"192.0.2.7"}
	if h := facts(context.Background(), a); len(h.Addresses) != 1 || h.Addresses[0] != "192.0.2.7" {
		t.Fatalf("configured addresses: %v", h.Addresses)
	}
}

// writeIdentity stores an identity for node n1 whose gateway refuses
// connections, and returns the CA and the dir.
func writeIdentity(t *testing.T, validity time.Duration) (*pki.CA, string) {
	t.Helper()
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	key, csr, err := pki.NewKeyAndCSR("n1")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.SignNodeCSR(csr, "n1", validity)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := saveIdentity(dir, &identity{NodeID: "n1", Gateway: "127.0.0.1:1"}, key, cert, ca.CertPEM()); err != nil {
		t.Fatal(err)
	}
	return ca, dir
}

func TestSetNodeBeforeList(t *testing.T) {
	_, dir := writeIdentity(t, time.Hour)
	d := &recDriver{Driver: fake.New()}
	a, err := New(Config{DataDir: dir, Drivers: []runtime.Driver{d}, Hostname: "h", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) < 2 || d.calls[0] != "SetNode n1" || d.calls[1] != "List" {
		t.Fatalf("driver calls %v: want SetNode n1 before any List", d.calls)
	}
}

func TestRenewDueAndInterruptedSave(t *testing.T) {
	ca, dir := writeIdentity(t, 100*time.Second)
	id, err := loadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	leaf := id.cert.Leaf
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	for range 20 {
		a := &Agent{}
		at := a.renewDue(leaf).Sub(leaf.NotBefore)
		if at < life/2 || at > life*8/10 {
			t.Fatalf("renewal at %v of a %v life: want between 50%% and 80%%", at, life)
		}
		if again := a.renewDue(leaf).Sub(leaf.NotBefore); again != at {
			t.Fatalf("renewal time drawn again for the same certificate: %v then %v", at, again)
		}
	}

	// A renewal cut short after the certificate was written: the new key
	// still waits in node.key.next and is picked up.
	key, csr, err := pki.NewKeyAndCSR("n1")
	if err != nil {
		t.Fatal(err)
	}
	cert, serial, err := ca.SignNodeCSR(csr, "n1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(filepath.Join(dir, fileKeyNext), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(filepath.Join(dir, fileCert), cert, 0o644); err != nil {
		t.Fatal(err)
	}
	id, err = loadIdentity(dir)
	if err != nil {
		t.Fatalf("identity after an interrupted renewal: %v", err)
	}
	if id.cert.Leaf.SerialNumber.String() != serial {
		t.Fatal("the renewed certificate was not loaded")
	}
	if _, err := os.Stat(filepath.Join(dir, fileKeyNext)); !os.IsNotExist(err) {
		t.Fatalf("%s left behind: %v", fileKeyNext, err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, fileCert), filepath.Join(dir, fileKey)); err != nil {
		t.Fatalf("node.crt and node.key do not match after recovery: %v", err)
	}
	// A complete save leaves a matching pair.
	key2, csr2, _ := pki.NewKeyAndCSR("n1")
	cert2, _, _ := ca.SignNodeCSR(csr2, "n1", time.Hour)
	if err := saveCert(dir, key2, cert2); err != nil {
		t.Fatal(err)
	}
	if _, err := loadIdentity(dir); err != nil {
		t.Fatal(err)
	}
}
