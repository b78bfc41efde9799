package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// dockerNamed is a fake driver that answers to "docker".
type dockerNamed struct{ *fake.Driver }

func (dockerNamed) Name() string { return "docker" }

// TestRegistryTrust: a node with the docker driver writes the cluster CA
// and its certificate into the engine's certs.d for the registry host,
// the key 0600; a renewal rewrites them; a host that would reach out of
// the directory is refused; a node without the docker driver writes
// nothing.
func TestRegistryTrust(t *testing.T) {
	data, certs := t.TempDir(), t.TempDir()
	files := map[string]string{fileCA: "CA PEM", fileCert: "CERT PEM", fileKey: "KEY PEM"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(data, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := &Agent{cfg: Config{DataDir: data, DockerCertsDir: certs, Drivers: []runtime.Driver{dockerNamed{fake.New()}}}, log: slog.New(slog.DiscardHandler)}
	a.trustRegistry("wharf.example.com:7443", false)
	dir := filepath.Join(certs, "wharf.example.com:7443")
	for dst, want := range map[string]string{"ca.crt": "CA PEM", "client.cert": "CERT PEM", "client.key": "KEY PEM"} {
		b, err := os.ReadFile(filepath.Join(dir, dst))
		if err != nil || string(b) != want {
			t.Fatalf("%s: %q %v", dst, b, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "client.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client.key mode: %v %v", fi.Mode(), err)
	}

	// A renewal replaces the certificate and key.
	if err := os.WriteFile(filepath.Join(data, fileCert), []byte("NEW CERT"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.retrustRegistry()
	if b, _ := os.ReadFile(filepath.Join(dir, "client.cert")); string(b) != "NEW CERT" {
		t.Fatalf("after renewal: %q", b)
	}

	for _, host := range []string{"../etc", "a/b:1", "..", "host:7443/../../x", ""} {
		if err := writeRegistryTrust(certs, host, data); err == nil {
			t.Errorf("host %q accepted", host)
		}
	}
	if err := writeRegistryTrust(certs, "[::1]:7443", data); err != nil {
		t.Errorf("an IPv6 host: %v", err)
	}

	other := t.TempDir()
	b := &Agent{cfg: Config{DataDir: data, DockerCertsDir: other, Drivers: []runtime.Driver{fake.New()}}, log: slog.New(slog.DiscardHandler)}
	b.trustRegistry("wharf.example.com:7443", false)
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Fatalf("a node without docker wrote %v", entries)
	}
}

// TestLoopbackRegistry: the engine reads no certs.d for a loopback
// registry, so the agent writes none for one.
func TestLoopbackRegistry(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:7443": true, "127.9.9.9:1": true, "localhost:5000": true, "[::1]:7443": true, "localhost": true,
		"10.0.0.5:7443": false, "wharf.example.com:7443": false, "[fd00::1]:7443": false, "172.17.0.1": false,
	} {
		if got := loopbackRegistry(host); got != want {
			t.Errorf("loopbackRegistry(%q) = %v, want %v", host, got, want)
		}
	}
}
