package server

// docker_anchor_test.go: what ca.pem holds when the server was given a
// certificate of its own (--tls-cert).

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pki"
)

// TestServerAnchorVerifiesTheChain: for a --tls-cert chain of a private CA,
// ca.pem is the file's last certificate (the CA when the file has it, else
// the certificate itself), and a client trusting only it verifies the
// server's certificate by its name, as the docker CLI does.
func TestServerAnchorVerifiesTheChain(t *testing.T) {
	ca, err := pki.NewCA("private CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"docker.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, chainPEM := range map[string][]byte{"leaf only": certPEM, "leaf and CA": append(append([]byte{}, certPEM...), ca.CertPEM()...)} {
		cert, err := tls.X509KeyPair(chainPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		anchor := serverAnchor(cert)
		b, _ := pem.Decode(anchor)
		if b == nil {
			t.Fatalf("%s: no PEM anchor", name)
		}
		last := cert.Certificate[len(cert.Certificate)-1]
		if string(b.Bytes) != string(last) {
			t.Errorf("%s: the anchor is not the chain's last certificate", name)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(anchor)
		leaf, _ := x509.ParseCertificate(cert.Certificate[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "docker.example"}); err != nil {
			t.Errorf("%s: a client trusting only ca.pem refuses the server: %v", name, err)
		}
	}
}
