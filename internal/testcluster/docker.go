package testcluster

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
)

// DockerEnv issues a Docker client certificate of role ("" for the admin
// token's own access) through the API, as `wharf docker-env` does, writes
// it to a new directory and returns the environment that points a docker
// CLI at the cluster's Docker endpoint (Options.Docker), and the token.
func (c *Cluster) DockerEnv(tb testing.TB, name, role string) ([]string, api.TokenCreated) {
	tb.Helper()
	return c.DockerEnvWith(tb, api.CreateTokenRequest{Name: name, Role: role})
}

// DockerEnvWith is DockerEnv for any request (a TTL, a team); its CSR is
// made here.
func (c *Cluster) DockerEnvWith(tb testing.TB, req api.CreateTokenRequest) ([]string, api.TokenCreated) {
	tb.Helper()
	if c.DockerAddr == "" {
		tb.Fatal("testcluster: DockerEnv needs Options.Docker")
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(req.Name)
	if err != nil {
		tb.Fatal(err)
	}
	req.CSR = string(csrPEM)
	created, err := c.Client.CreateTokenWith(context.Background(), req)
	if err != nil {
		tb.Fatalf("testcluster: issue a Docker client certificate: %v", err)
	}
	dir := tb.TempDir()
	if err := pki.WriteDockerCertDir(dir, []byte(created.CA), []byte(created.Certificate), keyPEM); err != nil {
		tb.Fatal(err)
	}
	return pki.DockerEnv(c.DockerAddr, dir), created
}
