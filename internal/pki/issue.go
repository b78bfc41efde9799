package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// DefaultNodeCertValidity is how long a node's client certificate is valid.
const DefaultNodeCertValidity = 90 * 24 * time.Hour

// alwaysHosts are added to every server certificate so that local clients
// (the CLI on the server host, health checks) can always connect.
var alwaysHosts = []string{"localhost", "127.0.0.1", "::1"}

// IssueServer makes a server certificate (and its PKCS #8 key) for the
// given hosts: each is an IP (-> IP SAN) or a DNS name (wildcards such as
// "*.example.com" allowed); localhost, 127.0.0.1 and ::1 are always added.
// The certificate never outlives the CA.
func (ca *CA) IssueServer(hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("pki: issue server certificate: validity %v is not positive; pass a duration such as 365*24*time.Hour", validity)
	}
	var (
		dnsNames []string
		ips      []net.IP
		seen     = map[string]bool{}
	)
	for i, h := range append(append([]string(nil), hosts...), alwaysHosts...) {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(h); ip != nil {
			if key := ip.String(); !seen[key] {
				seen[key] = true
				ips = append(ips, ip)
			}
			continue
		}
		if err := checkDNSName(h); err != nil {
			return nil, nil, fmt.Errorf("pki: issue server certificate: host %d %q: %w", i, h, err)
		}
		if key := strings.ToLower(h); !seen[key] {
			seen[key] = true
			dnsNames = append(dnsNames, key)
		}
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue server certificate: %w", err)
	}
	cn := "localhost"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dnsNames,
		IPAddresses: ips,
	}
	der, _, err := ca.sign(tmpl, key.Public(), validity)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue server certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue server certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockCertificate, Bytes: der}), keyPEM, nil
}

// SignNodeCSR signs a node's CSR as a client certificate (ExtKeyUsage
// ClientAuth) whose subject common name is nodeID, whatever the CSR says; the
// CSR's other names are ignored. The CSR's signature must verify. It returns
// the PEM certificate and its serial as a decimal string.
func (ca *CA) SignNodeCSR(csrPEM []byte, nodeID string, validity time.Duration) (certPEM []byte, serial string, err error) {
	if nodeID == "" {
		return nil, "", errors.New("pki: sign node CSR: node ID is empty; pass the ID the node is known by")
	}
	if validity <= 0 {
		return nil, "", fmt.Errorf("pki: sign node CSR: validity %v is not positive; pass DefaultNodeCertValidity", validity)
	}
	block := firstBlock(csrPEM, blockCSR)
	if block == nil {
		return nil, "", errors.New("pki: sign node CSR: no PEM \"CERTIFICATE REQUEST\" block found; send the CSR made by NewKeyAndCSR")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("pki: sign node CSR: malformed CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, "", fmt.Errorf("pki: sign node CSR: the CSR's signature does not verify (corrupted or forged): %w", err)
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, "", fmt.Errorf("pki: sign node CSR: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: nodeID},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, sn, err := ca.sign(tmpl, csr.PublicKey, validity)
	if err != nil {
		return nil, "", fmt.Errorf("pki: sign node CSR: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockCertificate, Bytes: der}), sn.String(), nil
}

// NewKeyAndCSR makes an ECDSA P-256 key (PKCS #8 PEM) and a CSR for
// commonName signed with it.
func NewKeyAndCSR(commonName string) (keyPEM, csrPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, fmt.Errorf("pki: new CSR: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: commonName},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: new CSR: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: new CSR: %w", err)
	}
	return keyPEM, pem.EncodeToMemory(&pem.Block{Type: blockCSR, Bytes: der}), nil
}

// sign fills in serial and validity (capped at the CA's own expiry), signs
// tmpl for pub and returns the DER and the serial.
func (ca *CA) sign(tmpl *x509.Certificate, pub any, validity time.Duration) ([]byte, *big.Int, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	// A short-lived certificate is backdated by a tenth of its life at
	// most, so that its holder, which renews at a share of NotAfter minus
	// NotBefore, still sees the lifetime it was given.
	tmpl.NotBefore = now.Add(-min(clockSkew, validity/10))
	tmpl.NotAfter = now.Add(validity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, serial, nil
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// checkPublicKey refuses key types and sizes Wharf does not trust.
func checkPublicKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too weak; use NewKeyAndCSR (ECDSA P-256)", k.N.BitLen())
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T; use NewKeyAndCSR (ECDSA P-256)", pub)
	}
}

// checkDNSName accepts a plausible DNS name, optionally with a leading
// "*." wildcard label.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("empty host name")
	}
	if len(name) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	for i, label := range strings.Split(strings.TrimPrefix(name, "*."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("label %d is empty or longer than 63 characters; pass a DNS name or an IP address without port", i)
		}
		for _, r := range label {
			ok := r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
			if !ok {
				return fmt.Errorf("character %q is not allowed in a DNS name; pass a DNS name or an IP address without port", r)
			}
		}
	}
	return nil
}
