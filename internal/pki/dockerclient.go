package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DockerClientOU is the organizational unit of every Docker API client
// certificate (`wharf docker-env`): the Docker endpoint accepts no other
// certificate of the cluster CA (a node's has none), and nothing else
// accepts one of these as a node's.
const DockerClientOU = "wharf docker client"

// SignDockerClientCSR signs csrPEM as a Docker API client certificate for
// the API token tokenID: ExtKeyUsage ClientAuth, common name tokenID,
// organizational unit DockerClientOU, whatever the CSR says. It returns the
// PEM certificate and the SHA-256 of the CSR's public key (see KeyHash),
// which is what the token stores in place of a secret's hash.
func (ca *CA) SignDockerClientCSR(csrPEM []byte, tokenID string, validity time.Duration) (certPEM []byte, keyHash string, err error) {
	if tokenID == "" {
		return nil, "", errors.New("pki: sign Docker client CSR: token ID is empty")
	}
	if validity <= 0 {
		return nil, "", fmt.Errorf("pki: sign Docker client CSR: validity %v is not positive", validity)
	}
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		return nil, "", fmt.Errorf("pki: sign Docker client CSR: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: tokenID, OrganizationalUnit: []string{DockerClientOU}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, _, err := ca.sign(tmpl, csr.PublicKey, validity)
	if err != nil {
		return nil, "", fmt.Errorf("pki: sign Docker client CSR: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockCertificate, Bytes: der}), KeyHash(csr.RawSubjectPublicKeyInfo), nil
}

// ParseCSR reads a PEM certificate request whose signature verifies and
// whose key is one Wharf trusts.
func ParseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	block := firstBlock(csrPEM, blockCSR)
	if block == nil {
		return nil, errors.New("no PEM \"CERTIFICATE REQUEST\" block found; send a CSR such as NewKeyAndCSR makes")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("malformed CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR's signature does not verify (corrupted or forged): %w", err)
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	return csr, nil
}

// KeyHash is the SHA-256 (hex) of a DER SubjectPublicKeyInfo.
func KeyHash(spki []byte) string {
	sum := sha256.Sum256(spki)
	return hex.EncodeToString(sum[:])
}

// IsDockerClient tells whether cert is marked as a Docker API client
// certificate (it does not verify it).
func IsDockerClient(cert *x509.Certificate) bool {
	return cert != nil && slices.Contains(cert.Subject.OrganizationalUnit, DockerClientOU)
}
