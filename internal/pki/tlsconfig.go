package pki

import "crypto/tls"

// serverCipherSuites are the TLS 1.2 suites every Wharf listener offers:
// ECDHE key exchange (forward secrecy) with an AEAD cipher only. No CBC
// (Lucky13-style padding oracles, SHA-1 MACs), no static RSA key exchange
// (no forward secrecy), no 3DES. TLS 1.3 suites are not configurable in Go
// and are all AEAD.
var serverCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ServerTLSConfig is the one server-side TLS configuration of Wharf: every
// listener (the API, the agent gateway) starts from it. It allows TLS 1.2
// and 1.3, and in TLS 1.2 only ECDHE AEAD suites. Callers may only make it
// stricter (a higher MinVersion, client certificates).
func ServerTLSConfig(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: certs,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: append([]uint16(nil), serverCipherSuites...),
	}
}
