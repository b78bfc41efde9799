package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func mustCA(t testing.TB, cn string) *CA {
	t.Helper()
	ca, err := NewCA(cn)
	if err != nil {
		t.Fatalf("NewCA(%q): %v", cn, err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("IsCA = %v, BasicConstraintsValid = %v; want both true", c.IsCA, c.BasicConstraintsValid)
	}
	if c.Subject.CommonName != "wharf-ca" {
		t.Errorf("CN = %q, want wharf-ca", c.Subject.CommonName)
	}
	if life := time.Until(c.NotAfter); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
		t.Errorf("CA valid for %v more, want about 10 years", life)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("CA lacks KeyUsageCertSign")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if _, err := NewCA(""); err == nil {
		t.Error("NewCA(\"\") succeeded, want an error")
	}
}

func TestCAPEMRoundTrip(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	certPEM, keyPEM, err := ca.PEM()
	if err != nil {
		t.Fatalf("PEM: %v", err)
	}
	if !bytes.Equal(certPEM, ca.CertPEM()) {
		t.Error("PEM's certificate differs from CertPEM")
	}
	back, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseCA: %v", err)
	}
	if !back.Cert.Equal(ca.Cert) {
		t.Error("certificate changed in the round trip")
	}
	if back.Digest() != ca.Digest() {
		t.Errorf("digest changed: %s != %s", back.Digest(), ca.Digest())
	}
	// The parsed key must be able to sign: issue with it and verify with the original.
	leaf, _, err := back.IssueServer(nil, time.Hour)
	if err != nil {
		t.Fatalf("IssueServer with parsed CA: %v", err)
	}
	cert := mustParseCert(t, leaf)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "localhost"}); err != nil {
		t.Errorf("certificate issued by the parsed CA does not verify: %v", err)
	}
}

func TestParseCAErrors(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	other := mustCA(t, "other-ca")
	certPEM, keyPEM, _ := ca.PEM()
	_, otherKeyPEM, _ := other.PEM()
	leafPEM, leafKeyPEM, err := ca.IssueServer(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ec := ca.Key.(*ecdsa.PrivateKey)
	sec1DER, _ := x509.MarshalECPrivateKey(ec)
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384PEM, _ := encodeKey(p384)

	tests := []struct {
		name      string
		cert, key []byte
		wantErr   string // empty: must succeed
	}{
		{"pkcs8 key", certPEM, keyPEM, ""},
		{"sec1 key", certPEM, sec1PEM, ""},
		{"garbage cert", []byte("not pem"), keyPEM, "no PEM \"CERTIFICATE\" block"},
		{"key as cert", keyPEM, keyPEM, "no PEM \"CERTIFICATE\" block"},
		{"garbage key", certPEM, []byte("nope"), "no PEM \"PRIVATE KEY\""},
		{"corrupt cert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), keyPEM, "malformed certificate"},
		{"corrupt key", certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), "malformed private key"},
		{"wrong key", certPEM, otherKeyPEM, "does not belong"},
		{"not a CA", leafPEM, leafKeyPEM, "not a CA"},
		{"P-384 key", certPEM, p384PEM, "not ECDSA P-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCA(tt.cert, tt.key)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseCA: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ParseCA succeeded, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("ParseCA error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	d := ca.Digest()
	if len(d) != 64 || strings.ToLower(d) != d {
		t.Fatalf("Digest %q is not 64 lowercase hex digits", d)
	}
	if d == mustCA(t, "wharf-ca").Digest() {
		t.Error("two CAs have the same digest")
	}
}

func mustParseCert(t testing.TB, certPEM []byte) *x509.Certificate {
	t.Helper()
	cert, err := parseCertificate(certPEM)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}
