// Package pki is Wharf's cluster PKI and secret handling: the cluster CA,
// server and node certificates, join tokens and API tokens, and the hashing
// and constant-time comparison of their secrets.
//
// Keys are ECDSA P-256 and certificates X.509; every PEM this package
// writes is either a "CERTIFICATE", a "CERTIFICATE REQUEST" or a PKCS #8
// "PRIVATE KEY".
//
// It must never store, log or print a secret or private key: it hands them
// to the caller exactly once, and only their SHA-256 hashes are meant to be
// stored. It must never compare a secret or digest with == (always
// crypto/subtle), and it never does I/O beyond reading crypto/rand.
package pki
