package controller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestContainersCarryTheServiceSecrets: each container gets the service's
// secret refs (never a value: the controller has none).
func TestContainersCarryTheServiceSecrets(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, execOnly, nil)
	refs := []api.SecretRef{{Source: "db", Target: "pw", Mode: 0o440}}
	svc := e.createService("web", api.ServiceSpec{Command: []string{"sleep", "60"}, Replicas: 2, Secrets: refs})
	e.eventually(10*time.Second, func() error {
		cs := e.containers(svc.ID)
		if len(cs) != 2 {
			return fmt.Errorf("%d containers", len(cs))
		}
		for _, c := range cs {
			if !slices.Equal(c.Spec.Secrets, refs) {
				return fmt.Errorf("container %s has secrets %+v", c.Name, c.Spec.Secrets)
			}
		}
		return nil
	})
}
