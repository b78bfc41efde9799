package gateway_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/runtime"
)

// dockerNamed is the cluster tests' in-memory driver answering to
// "docker", for the agent's docker-only duties.
type dockerNamed struct{ *memDriver }

func (dockerNamed) Name() string { return "docker" }

// TestAgentTrustsBuiltinRegistry: the gateway names the built-in registry
// in every node's assignments, and an agent with the docker driver makes
// its engine trust it: certs.d/<host>/ holds the cluster CA and the node's
// own certificate and key.
func TestAgentTrustsBuiltinRegistry(t *testing.T) {
	const host = "registry.test:7443"
	e := newEnv(t, func(c *gateway.Config) { c.RegistryHost = host })
	dir, certs := t.TempDir(), t.TempDir()
	drv := newMemDriver()
	e.startAgent(dir, "host-reg", e.token, drv, func(c *agent.Config) {
		c.Drivers = []runtime.Driver{dockerNamed{drv}}
		c.DockerCertsDir = certs
	})
	eventually(t, 10*time.Second, "the engine's certs.d for the registry", func() error {
		for src, dst := range map[string]string{"ca.crt": "ca.crt", "node.crt": "client.cert", "node.key": "client.key"} {
			want, err := os.ReadFile(filepath.Join(dir, src))
			if err != nil {
				return err
			}
			got, err := os.ReadFile(filepath.Join(certs, host, dst))
			if err != nil {
				return err
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("%s differs from the agent's %s", dst, src)
			}
		}
		return nil
	})
}
