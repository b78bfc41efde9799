package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// caValidity is how long a new cluster CA is valid.
const caValidity = 10 * 365 * 24 * time.Hour

// clockSkew backdates NotBefore so that hosts whose clocks run a little
// behind accept a certificate as soon as it is made.
const clockSkew = 5 * time.Minute

// PEM block types.
const (
	blockCertificate = "CERTIFICATE"
	blockPrivateKey  = "PRIVATE KEY"
	blockECKey       = "EC PRIVATE KEY"
	blockCSR         = "CERTIFICATE REQUEST"
)

// CA is the cluster certificate authority: it signs the server's
// certificate and every node's client certificate.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer // ECDSA P-256
}

// NewCA makes a self-signed CA valid for 10 years.
func NewCA(commonName string) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("pki: new CA: common name is empty; pass a name such as \"wharf-ca\"")
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("pki: new CA: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("pki: new CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs leaves only, never intermediates
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: new CA: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: new CA: parse own certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCA loads a CA from the PEM that PEM wrote. The key may be PKCS #8 or
// SEC 1 ("EC PRIVATE KEY") and must be ECDSA P-256 and match the
// certificate, which must be a CA certificate.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, errors.New("pki: parse CA: the certificate is not a CA certificate; pass the cluster CA's certificate, not a server or node one")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA key: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, errors.New("pki: parse CA: the key does not belong to the certificate; pass the key file made together with this certificate")
	}
	return &CA{Cert: cert, Key: key}, nil
}

// PEM encodes the CA certificate and its PKCS #8 private key. The key is a
// secret: write it with mode 0600 and never log it.
func (ca *CA) PEM() (certPEM, keyPEM []byte, err error) {
	keyPEM, err = encodeKey(ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: encode CA key: %w", err)
	}
	return ca.CertPEM(), keyPEM, nil
}

// CertPEM encodes the CA certificate alone: what nodes and clients trust.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockCertificate, Bytes: ca.Cert.Raw})
}

// Pool returns a new pool holding only the CA certificate, for
// tls.Config.RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Digest is the lowercase hex SHA-256 of the CA certificate's DER: what a
// join token pins.
func (ca *CA) Digest() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// newKey makes an ECDSA P-256 key.
func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA P-256 key: %w", err)
	}
	return key, nil
}
