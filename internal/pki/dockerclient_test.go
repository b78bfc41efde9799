package pki

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// TestSignDockerClientCSR: the certificate names the token, carries the
// Docker client mark whatever the CSR asked, verifies for client auth
// only, and its key hash is the CSR's.
func TestSignDockerClientCSR(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	_, csrPEM, err := NewKeyAndCSR("i-ask-to-be-a-node")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, hash, err := ca.SignDockerClientCSR(csrPEM, "0123456789abcdef", time.Hour)
	if err != nil {
		t.Fatalf("SignDockerClientCSR: %v", err)
	}
	cert := mustParseCert(t, certPEM)
	if cert.Subject.CommonName != "0123456789abcdef" || !IsDockerClient(cert) {
		t.Errorf("subject = %v, want CN the token ID and OU %q", cert.Subject, DockerClientOU)
	}
	if got := KeyHash(cert.RawSubjectPublicKeyInfo); got != hash {
		t.Errorf("key hash = %s, want the CSR key's %s", got, hash)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client auth: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a Docker client certificate verifies as a server's")
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d > 2*time.Hour {
		t.Errorf("validity %v, want about the hour asked", d)
	}
}

// TestSignDockerClientCSRRefuses: a forged CSR, an empty token ID and no
// validity are refused; a node certificate is not a Docker client's.
func TestSignDockerClientCSRRefuses(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	_, csrPEM, err := NewKeyAndCSR("x")
	if err != nil {
		t.Fatal(err)
	}
	forged := []byte(strings.Replace(string(csrPEM), "A", "B", 3))
	for name, call := range map[string]func() error{
		"forged":      func() error { _, _, err := ca.SignDockerClientCSR(forged, "id", time.Hour); return err },
		"no token":    func() error { _, _, err := ca.SignDockerClientCSR(csrPEM, "", time.Hour); return err },
		"no validity": func() error { _, _, err := ca.SignDockerClientCSR(csrPEM, "id", 0); return err },
		"not a CSR":   func() error { _, _, err := ca.SignDockerClientCSR([]byte("hello"), "id", time.Hour); return err },
	} {
		if call() == nil {
			t.Errorf("%s: signed, want refused", name)
		}
	}
	nodePEM, _, err := ca.SignNodeCSR(csrPEM, "node-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if IsDockerClient(mustParseCert(t, nodePEM)) {
		t.Error("a node certificate counts as a Docker client's")
	}
}
