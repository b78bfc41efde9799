package testcluster

import (
	"context"
	"os"
	"path/filepath"
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
	if c.DockerAddr == "" {
		tb.Fatal("testcluster: DockerEnv needs Options.Docker")
	}
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(name)
	if err != nil {
		tb.Fatal(err)
	}
	created, err := c.Client.CreateTokenWith(context.Background(), api.CreateTokenRequest{Name: name, Role: role, CSR: string(csrPEM)})
	if err != nil {
		tb.Fatalf("testcluster: issue a Docker client certificate: %v", err)
	}
	dir := tb.TempDir()
	for f, b := range map[string][]byte{"ca.pem": []byte(created.CA), "cert.pem": []byte(created.Certificate), "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return []string{"DOCKER_HOST=tcp://" + c.DockerAddr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + dir}, created
}
