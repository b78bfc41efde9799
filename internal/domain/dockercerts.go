package domain

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// DockerSigner signs Docker API client certificates (the cluster CA,
// pki.CA, does) and says where the Docker endpoint is.
type DockerSigner interface {
	SignDockerClientCSR(csrPEM []byte, tokenID string, validity time.Duration) (certPEM []byte, keyHash string, err error)
	// CertPEM is what a Docker client trusts for the endpoint's server
	// certificate: its ca.pem (the cluster CA, unless the server was
	// given a certificate of its own with --tls-cert).
	CertPEM() []byte
}

// DockerEndpoint is a DockerSigner that also knows the endpoint's address;
// the server's does, so that the answer to a certificate request says
// where to connect (TokenCreated.DockerHost).
type DockerEndpoint interface {
	DockerHost() string
}

// newCertToken makes the record of a Docker API client certificate for
// csrPEM: a token whose ID is the first 16 hex digits of the CSR's public
// key's hash and whose Hash is all of it, and the signed certificate, valid
// for ttl.
func (d *Domain) newCertToken(name, role, csrPEM string, ttl time.Duration) (records.Token, string, error) {
	if d.cfg.DockerCA == nil {
		return records.Token{}, "", newErr(errdefs.ErrNotImplemented, "this server has no Docker endpoint: start it with `wharf server --docker-addr ADDR` (such as :2376; `wharf up` serves one) to issue Docker client certificates")
	}
	csr, err := pki.ParseCSR([]byte(csrPEM))
	if err != nil {
		return records.Token{}, "", errdefs.Invalid("csr", "%v", err)
	}
	hash := pki.KeyHash(csr.RawSubjectPublicKeyInfo)
	certPEM, _, err := d.cfg.DockerCA.SignDockerClientCSR([]byte(csrPEM), hashID(hash), ttl)
	if err != nil {
		return records.Token{}, "", err
	}
	t := records.Token{Meta: api.Meta{ID: hashID(hash), Name: name}, Hash: hash, Role: role, Admin: role == api.RoleAdmin, Kind: api.TokenDockerCert}
	return t, string(certPEM), nil
}

// AuthenticateDockerCert turns the verified client certificate of a Docker
// API call into its actor: the certificate must be a Docker client one
// (pki.DockerClientOU) whose key's token still exists and has not expired;
// the actor is the token's, as Authenticate makes it. Deleting the token
// (`wharf token rm`) revokes the certificate at once. The TLS handshake
// has already checked that the cluster CA signed it and that it is within
// its validity; this checks the chain again, so that a caller that did
// not require verification cannot be fooled.
func (d *Domain) AuthenticateDockerCert(ctx context.Context, chain []*x509.Certificate) (Actor, error) {
	wrong := newErr(errdefs.ErrUnauthorized, "the client certificate is not a current Docker client certificate of this cluster: run `wharf docker-env` for a new one")
	if d.cfg.ClusterCA == nil || len(chain) == 0 {
		return Actor{}, wrong
	}
	leaf := chain[0]
	if !pki.IsDockerClient(leaf) {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "the client certificate is not a Docker client certificate (a node's cannot call the Docker API): run `wharf docker-env` for one")
	}
	roots := x509.NewCertPool()
	roots.AddCert(d.cfg.ClusterCA)
	now := d.cfg.Now()
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		var invalid x509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
			return Actor{}, newErr(errdefs.ErrUnauthorized, "the Docker client certificate expired at %s: run `wharf docker-env` for a new one", leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		return Actor{}, wrong
	}
	hash := pki.KeyHash(leaf.RawSubjectPublicKeyInfo)
	var t records.Token
	if err := d.st.Get(ctx, store.KindTokens, hashID(hash), &t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Actor{}, newErr(errdefs.ErrUnauthorized, "the client certificate was revoked (its token is gone): run `wharf docker-env` for a new one")
		}
		return Actor{}, err
	}
	if t.Kind != api.TokenDockerCert || subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 || leaf.Subject.CommonName != t.ID {
		return Actor{}, wrong
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return Actor{}, newErr(errdefs.ErrUnauthorized, "the Docker client certificate %q expired at %s: run `wharf docker-env` for a new one", t.Name, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return d.actorFor(ctx, &t, "", now)
}
