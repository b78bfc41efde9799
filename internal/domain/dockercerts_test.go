package domain

// dockercerts_test.go: Docker client certificates as credentials, and
// every refusal of one (expired, revoked, foreign, a node's, used as a
// node's, a read-only one writing).

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/pki"
)

func parseCertPEM(t *testing.T, certPEM string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		t.Fatalf("no PEM in %q", certPEM)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dockerCertDomain is a domain whose cluster CA signs Docker client
// certificates, on a clock the test moves.
func dockerCertDomain(t *testing.T) (*Domain, *pki.CA, *time.Time) {
	t.Helper()
	ca, err := pki.NewCA("test cluster CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d := newTestDomain(t, func(c *Config) {
		c.DockerCA, c.ClusterCA, c.Now = ca, ca.Cert, func() time.Time { return now }
	})
	return d, ca, &now
}

// issueDockerCert has the domain sign a certificate for a new key.
func issueDockerCert(t *testing.T, d *Domain, name, role, ttl string) (*x509.Certificate, api.TokenCreated) {
	t.Helper()
	_, csr, err := pki.NewKeyAndCSR(name)
	if err != nil {
		t.Fatal(err)
	}
	created, err := d.CreateTokenFor(context.Background(), admin, api.CreateTokenRequest{Name: name, Role: role, TTL: ttl, CSR: string(csr)})
	if err != nil {
		t.Fatal(err)
	}
	if created.Kind != api.TokenDockerCert || created.Secret != "" {
		t.Fatalf("a certificate's token: kind %q, secret %q", created.Kind, created.Secret)
	}
	return parseCertPEM(t, created.Certificate), created
}

func wantUnauthorized(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if !errors.Is(err, errdefs.ErrUnauthorized) || !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: want unauthorized with %q, got %v", what, msg, err)
	}
}

func TestDockerCertificatesAuthenticateAndRefuse(t *testing.T) {
	d, ca, now := dockerCertDomain(t)
	ctx := context.Background()

	// A read-only certificate acts as its token, and may not write.
	ro, roTok := issueDockerCert(t, d, "docker-ro", api.RoleReadOnly, "")
	a, err := d.AuthenticateDockerCert(ctx, []*x509.Certificate{ro})
	if err != nil || a.Token != roTok.ID || a.Role != api.RoleReadOnly {
		t.Fatalf("a read-only certificate: %+v %v", a, err)
	}
	if _, err := d.ListContainers(ctx, a, "", "", Page{}); err != nil {
		t.Errorf("a read-only certificate may list containers: %v", err)
	}
	if _, err := d.CreateService(ctx, a, "web", api.ServiceSpec{Command: []string{"serve"}}); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("a read-only certificate created a service: %v", err)
	}

	// An admin one may; it is listed as a docker-cert token.
	rw, rwTok := issueDockerCert(t, d, "docker-admin", api.RoleAdmin, "")
	a, err = d.AuthenticateDockerCert(ctx, []*x509.Certificate{rw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateService(ctx, a, "web", api.ServiceSpec{Command: []string{"serve"}}); err != nil {
		t.Errorf("an admin certificate may create a service: %v", err)
	}
	toks, err := d.ListTokens(ctx, admin, Page{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, tk := range toks.Items {
		kinds[tk.Name] = tk.Kind
	}
	if kinds["docker-ro"] != api.TokenDockerCert || kinds["docker-admin"] != api.TokenDockerCert {
		t.Errorf("token kinds: %v", kinds)
	}

	// Revoked: deleting its token refuses it at once.
	if err := d.DeleteToken(ctx, admin, rwTok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = d.AuthenticateDockerCert(ctx, []*x509.Certificate{rw})
	wantUnauthorized(t, "a revoked certificate", err, "revoked")

	// Expired: past its TTL.
	short, _ := issueDockerCert(t, d, "docker-short", api.RoleReadOnly, "1h")
	*now = now.Add(2 * time.Hour)
	_, err = d.AuthenticateDockerCert(ctx, []*x509.Certificate{short})
	wantUnauthorized(t, "an expired certificate", err, "expired")
	*now = now.Add(-2 * time.Hour)

	// Foreign: another CA's Docker client certificate for a real token's key.
	other, err := pki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	_, csr, _ := pki.NewKeyAndCSR("x")
	foreignPEM, _, err := other.SignDockerClientCSR(csr, roTok.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.AuthenticateDockerCert(ctx, []*x509.Certificate{parseCertPEM(t, string(foreignPEM))})
	wantUnauthorized(t, "a foreign CA's certificate", err, "not a current Docker client certificate")

	// A node's certificate is not a Docker client's.
	_, nodeCSR, _ := pki.NewKeyAndCSR("node")
	nodePEM, _, err := ca.SignNodeCSR(nodeCSR, roTok.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.AuthenticateDockerCert(ctx, []*x509.Certificate{parseCertPEM(t, string(nodePEM))})
	wantUnauthorized(t, "a node's certificate", err, "a node's cannot call the Docker API")

	// And a Docker client's is not a node's, at the registry.
	_, err = d.AuthenticateNodeCert(ctx, []*x509.Certificate{ro})
	wantUnauthorized(t, "a Docker client certificate as a node's", err, "not a node's")

	// An admin certificate does not stand in for the last admin token.
	if _, _, err := Bootstrap(ctx, d.st, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	issueDockerCert(t, d, "docker-admin-2", api.RoleAdmin, "")
	all, _ := d.ListTokens(ctx, admin, Page{})
	for _, tk := range all.Items {
		if tk.Kind == "" && tk.Admin {
			if err := d.DeleteToken(ctx, admin, tk.ID); !errors.Is(err, errdefs.ErrConflict) {
				t.Errorf("deleting the last admin token beside an admin certificate: %v", err)
			}
		}
	}

	// No certificate at all.
	_, err = d.AuthenticateDockerCert(ctx, nil)
	wantUnauthorized(t, "no certificate", err, "not a current Docker client certificate")
}

// TestDockerCertificateWithoutEndpoint: a server without a Docker endpoint
// issues none, and says which flag gives it one.
func TestDockerCertificateWithoutEndpoint(t *testing.T) {
	d := newTestDomain(t)
	_, csr, _ := pki.NewKeyAndCSR("x")
	_, err := d.CreateTokenFor(context.Background(), admin, api.CreateTokenRequest{Name: "x", CSR: string(csr)})
	if !errors.Is(err, errdefs.ErrNotImplemented) || !strings.Contains(err.Error(), "wharf server --docker-addr") {
		t.Errorf("a certificate from a server without a Docker endpoint: %v", err)
	}
}
