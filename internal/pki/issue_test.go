package pki

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIssueServerVerifies(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	certPEM, keyPEM, err := ca.IssueServer([]string{"10.1.2.3", "wharf.example.com", " 10.1.2.3 ", "WHARF.example.com"}, 24*time.Hour)
	if err != nil {
		t.Fatalf("IssueServer: %v", err)
	}
	if _, err := parseKey(keyPEM); err != nil {
		t.Fatalf("server key: %v", err)
	}
	cert := mustParseCert(t, certPEM)
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v, want ServerAuth only", cert.ExtKeyUsage)
	}
	if !slices.Equal(cert.DNSNames, []string{"wharf.example.com", "localhost"}) {
		t.Errorf("DNSNames = %v, want deduplicated [wharf.example.com localhost]", cert.DNSNames)
	}
	if len(cert.IPAddresses) != 3 {
		t.Errorf("IPAddresses = %v, want 10.1.2.3, 127.0.0.1, ::1 once each", cert.IPAddresses)
	}
	tests := []struct {
		host string
		ok   bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"wharf.example.com", true},
		{"10.1.2.4", false},
		{"evil.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			_, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: tt.host})
			if (err == nil) != tt.ok {
				t.Errorf("Verify for %s: err = %v, want ok = %v", tt.host, err, tt.ok)
			}
		})
	}
	other := mustCA(t, "other-ca")
	if _, err := cert.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "localhost"}); err == nil {
		t.Error("server certificate verifies against another CA")
	}
}

func TestIssueServerErrors(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	tests := []struct {
		name     string
		hosts    []string
		validity time.Duration
		wantErr  string
	}{
		{"zero validity", nil, 0, "not positive"},
		{"negative validity", nil, -time.Hour, "not positive"},
		{"host with port", []string{"example.com:443"}, time.Hour, "not allowed"},
		{"empty host", []string{""}, time.Hour, "empty host"},
		{"empty label", []string{"a..b"}, time.Hour, "label 1"},
		{"space", []string{"a b"}, time.Hour, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ca.IssueServer(tt.hosts, tt.validity)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("IssueServer(%q, %v) error = %v, want it to contain %q", tt.hosts, tt.validity, err, tt.wantErr)
			}
		})
	}
}

func TestIssueNeverOutlivesCA(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	certPEM, _, err := ca.IssueServer([]string{"*.example.com"}, 100*365*24*time.Hour)
	if err != nil {
		t.Fatalf("IssueServer: %v", err)
	}
	if got := mustParseCert(t, certPEM).NotAfter; got.After(ca.Cert.NotAfter) {
		t.Errorf("server cert NotAfter %v is after the CA's %v", got, ca.Cert.NotAfter)
	}
}

func TestSignNodeCSR(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	_, csrPEM, err := NewKeyAndCSR("i-am-the-server")
	if err != nil {
		t.Fatalf("NewKeyAndCSR: %v", err)
	}
	certPEM, serial, err := ca.SignNodeCSR(csrPEM, "node-42", time.Hour)
	if err != nil {
		t.Fatalf("SignNodeCSR: %v", err)
	}
	cert := mustParseCert(t, certPEM)
	if cert.Subject.CommonName != "node-42" {
		t.Errorf("CN = %q, want the node ID node-42, not the CSR's", cert.Subject.CommonName)
	}
	if serial != cert.SerialNumber.String() {
		t.Errorf("serial %q, certificate says %s", serial, cert.SerialNumber)
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ExtKeyUsage = %v, want ClientAuth only", cert.ExtKeyUsage)
	}
	if cert.IsCA {
		t.Error("node certificate is a CA")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("node certificate does not verify as a client certificate: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool()}); err == nil {
		t.Error("node certificate verifies as a server certificate")
	}
	if life := time.Until(cert.NotAfter); life > time.Hour || life < 50*time.Minute {
		t.Errorf("node certificate valid for %v more, want about 1h", life)
	}
	_, serial2, err := ca.SignNodeCSR(csrPEM, "node-42", time.Hour)
	if err != nil || serial2 == serial {
		t.Errorf("second signing: serial %q (first %q), err %v; want a fresh serial", serial2, serial, err)
	}
}

func TestSignNodeCSRErrors(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	_, csrPEM, err := NewKeyAndCSR("node")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(csrPEM)
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-1] ^= 0x01 // a bit of the signature
	badSig := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})
	// A changed subject breaks the signature too.
	renamed := append([]byte(nil), block.Bytes...)
	i := strings.Index(string(renamed), "node")
	copy(renamed[i:], "nude")
	badSubject := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: renamed})

	tests := []struct {
		name     string
		csr      []byte
		nodeID   string
		validity time.Duration
		wantErr  string
	}{
		{"bad signature", badSig, "n1", time.Hour, "does not verify"},
		{"tampered subject", badSubject, "n1", time.Hour, "does not verify"},
		{"garbage", []byte("garbage"), "n1", time.Hour, "no PEM"},
		{"empty", nil, "n1", time.Hour, "no PEM"},
		{"not DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("xx")}), "n1", time.Hour, "malformed CSR"},
		{"certificate instead", ca.CertPEM(), "n1", time.Hour, "no PEM"},
		{"empty node ID", csrPEM, "", time.Hour, "node ID is empty"},
		{"zero validity", csrPEM, "n1", 0, "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, serial, err := ca.SignNodeCSR(tt.csr, tt.nodeID, tt.validity)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SignNodeCSR error = %v, want it to contain %q", err, tt.wantErr)
			}
			if cert != nil || serial != "" {
				t.Errorf("SignNodeCSR returned a certificate with an error")
			}
		})
	}
}

func TestNewKeyAndCSR(t *testing.T) {
	keyPEM, csrPEM, err := NewKeyAndCSR("node-1")
	if err != nil {
		t.Fatalf("NewKeyAndCSR: %v", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	block := firstBlock(csrPEM, blockCSR)
	if block == nil {
		t.Fatal("no CSR block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if csr.Subject.CommonName != "node-1" {
		t.Errorf("CSR CN = %q", csr.Subject.CommonName)
	}
	if !key.PublicKey.Equal(csr.PublicKey) {
		t.Error("CSR is not for the returned key")
	}
	if err := csr.CheckSignature(); err != nil {
		t.Errorf("CSR signature: %v", err)
	}
}

func TestIssueServerIPv6(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	certPEM, _, err := ca.IssueServer([]string{"fd00::7"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustParseCert(t, certPEM)
	if !slices.ContainsFunc(cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("fd00::7")) }) {
		t.Errorf("IPAddresses %v lack fd00::7", cert.IPAddresses)
	}
}
