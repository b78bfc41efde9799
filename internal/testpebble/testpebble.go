// Package testpebble runs Let's Encrypt's test ACME server, pebble (the
// Debian package's /usr/bin/pebble), for one test: on loopback, with an
// HTTPS certificate of its own, validating challenges on the caller's
// ports and resolving every name to 127.0.0.1 through a small DNS server
// of the test's. Everything stops when the test ends. Only tests import
// it.
package testpebble

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testserver"
)

// Binary is where Debian installs pebble.
const Binary = "/usr/bin/pebble"

// RequireEnv is the environment variable that, set to 1, makes a test
// fail instead of skipping when pebble is not installed.
const RequireEnv = "WHARF_REQUIRE_PEBBLE"

// startTimeout bounds waiting for pebble's directory to answer.
const startTimeout = 30 * time.Second

// Config is what the test gives pebble.
type Config struct {
	// HTTPPort and TLSPort are the loopback ports pebble validates
	// HTTP-01 and TLS-ALPN-01 challenges on.
	HTTPPort int
	TLSPort  int
}

// Pebble is a running pebble.
type Pebble struct {
	// Directory is the ACME directory URL (https://127.0.0.1:PORT/dir).
	Directory string
	// CA is the PEM certificate that pebble's own HTTPS chains to.
	CA string
	// Root is the PEM root that pebble's issued certificates chain to
	// (from its management interface's /roots/0).
	Root string

	out *lockedBuffer
}

// Start runs pebble for t, or skips t when pebble is not installed
// (fails it with WHARF_REQUIRE_PEBBLE=1).
func Start(t testing.TB, cfg Config) *Pebble {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("pebble is not installed at %s (apt-get install pebble), and %s=1 forbids skipping", Binary, RequireEnv)
		}
		t.Skipf("pebble is not installed at %s (apt-get install pebble); set %s=1 to fail instead", Binary, RequireEnv)
	}
	if cfg.HTTPPort <= 0 || cfg.TLSPort <= 0 {
		t.Fatalf("testpebble: Config needs HTTPPort and TLSPort, got %+v", cfg)
	}
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := selfCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, certPEM)
	writeFile(t, keyFile, keyPEM)

	dns := startDNS(t)
	listen := testserver.FreeAddr(t)
	mgmt := testserver.FreeAddr(t)
	conf, err := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        mgmt,
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       cfg.HTTPPort,
		"tlsPort":                        cfg.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}})
	if err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "pebble.json")
	writeFile(t, confFile, conf)

	p := &Pebble{Directory: "https://" + listen + "/dir", CA: string(caPEM), out: &lockedBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, Binary, "-config", confFile, "-dnsserver", dns)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start pebble: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("pebble's output:\n%s", p.out.String())
		}
	})

	hc := httpsClient(caPEM)
	if err := waitReady(hc, p.Directory, exited); err != nil {
		t.Fatalf("pebble did not come up: %v\npebble's output:\n%s", err, p.out.String())
	}
	root, err := get(hc, "https://"+mgmt+"/roots/0")
	if err != nil {
		t.Fatalf("pebble's issuing root: %v", err)
	}
	if b, _ := pem.Decode(root); b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("pebble's /roots/0 is not a PEM certificate: %q", root)
	}
	p.Root = string(root)
	return p
}

// Output is what pebble printed so far.
func (p *Pebble) Output() string { return p.out.String() }

// RootPool is a pool of pebble's issuing root, for verifying the
// certificates it issued.
func (p *Pebble) RootPool(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(p.Root)) {
		t.Fatal("pebble's root does not parse")
	}
	return pool
}

// waitReady polls the directory until it answers, pebble exits or
// startTimeout passes.
func waitReady(hc *http.Client, dirURL string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		if _, last = get(hc, dirURL); last == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("pebble exited (last try: %v)", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer in %s: %v", startTimeout, last)
}

func get(hc *http.Client, u string) ([]byte, error) {
	resp, err := hc.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return b, nil
}

func httpsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool},
	}}
}

// selfCA makes a CA and a certificate of it for 127.0.0.1 and localhost:
// pebble's own HTTPS.
func selfCA(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wharf test pebble HTTPS CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pebble"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects pebble's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 4<<20 { // enough to read a failure by
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
