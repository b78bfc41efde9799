package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// parseCertificate parses the first PEM "CERTIFICATE" block of data.
func parseCertificate(data []byte) (*x509.Certificate, error) {
	block := firstBlock(data, blockCertificate)
	if block == nil {
		return nil, errors.New("no PEM \"CERTIFICATE\" block found; pass the PEM file, not DER or a key")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("malformed certificate: %w", err)
	}
	return cert, nil
}

// parseKey parses the first private key block (PKCS #8 or SEC 1) of data and
// insists on ECDSA P-256.
func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	var (
		key any
		err error
	)
	if block := firstBlock(data, blockPrivateKey); block != nil {
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	} else if block := firstBlock(data, blockECKey); block != nil {
		key, err = x509.ParseECPrivateKey(block.Bytes)
	} else {
		return nil, errors.New("no PEM \"PRIVATE KEY\" or \"EC PRIVATE KEY\" block found; pass the key file")
	}
	if err != nil {
		return nil, fmt.Errorf("malformed private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("the private key is not ECDSA P-256; Wharf uses P-256 keys only")
	}
	return ec, nil
}

// encodeKey encodes key as a PKCS #8 "PRIVATE KEY" block.
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS #8: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockPrivateKey, Bytes: der}), nil
}

// firstBlock returns the first PEM block of type typ in data, or nil.
func firstBlock(data []byte, typ string) *pem.Block {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil
		}
		if block.Type == typ {
			return block
		}
	}
}
