package hostile

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
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// JoinResult is what the server answered a forged join.
type JoinResult struct {
	Status int
	// Message is the error message of a refusal.
	Message string
	// NodeID and Certificate are set when the server accepted the join.
	NodeID      string
	Certificate string
	// Key is the PEM private key the CSR was made with, so that an
	// accepted join's certificate can be used.
	Key []byte
}

// Join posts a join to serverURL (https://host:port) the way an attacker
// would: with a join token, nodeID (empty for a new node; a victim's ID,
// which any read-only API token lists, to take it over) and a CSR for a key
// of its own. clientCert, when not nil, is offered as the TLS client
// certificate of the connection (another node's certificate, or a
// self-signed one with the victim's name). The server's certificate is not
// checked: the attacker does not care who answers. The connection comes
// from the attacker's own address, Source (see JoinFrom).
func Join(ctx context.Context, serverURL, token, nodeID, hostname string, clientCert *tls.Certificate) (JoinResult, error) {
	return JoinFrom(ctx, "", serverURL, token, nodeID, hostname, clientCert)
}

// Source is the loopback address the attacker's joins come from, so that a
// server that throttles failed joins per source address throttles the
// attacker, not the test's own client on 127.0.0.1.
const Source = "127.0.0.66"

// JoinFrom is Join from the local IP address source ("" for Source).
func JoinFrom(ctx context.Context, source, serverURL, token, nodeID, hostname string, clientCert *tls.Certificate) (JoinResult, error) {
	if source == "" {
		source = Source
	}
	keyPEM, csrPEM, err := newKeyAndCSR(hostname)
	if err != nil {
		return JoinResult{}, err
	}
	body, err := json.Marshal(api.JoinRequest{Token: token, CSR: string(csrPEM), Hostname: hostname, NodeID: nodeID})
	if err != nil {
		return JoinResult{}, err
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // the attacker trusts anyone
	if clientCert != nil {
		tlsCfg.Certificates = []tls.Certificate{*clientCert}
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	tr := &http.Transport{TLSClientConfig: tlsCfg, DialContext: dialer.DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(serverURL, "/")+"/v1/join", bytes.NewReader(body))
	if err != nil {
		return JoinResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return JoinResult{}, fmt.Errorf("hostile join: %w", err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return JoinResult{}, fmt.Errorf("hostile join: read the answer: %w", err)
	}
	res := JoinResult{Status: resp.StatusCode, Key: keyPEM}
	if resp.StatusCode/100 != 2 {
		var eb api.ErrorBody
		if json.Unmarshal(rb, &eb) == nil && eb.Error.Message != "" {
			res.Message = eb.Error.Message
		} else {
			res.Message = strings.TrimSpace(string(rb))
		}
		return res, nil
	}
	var jr api.JoinResponse
	if err := json.Unmarshal(rb, &jr); err != nil {
		return res, fmt.Errorf("hostile join: decode the answer: %w", err)
	}
	res.NodeID, res.Certificate = jr.NodeID, jr.Certificate
	return res, nil
}

// KeyPair is an accepted join's certificate with its key, ready to offer
// as a client certificate.
func (r JoinResult) KeyPair() (tls.Certificate, error) {
	return tls.X509KeyPair([]byte(r.Certificate), r.Key)
}

// SelfSignedCert makes a certificate with commonName as its subject,
// signed by its own key: the victim node's name with no cluster CA behind
// it.
func SelfSignedCert(commonName string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func newKeyAndCSR(cn string) (keyPEM, csrPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}
