package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestRollbackUsesRollbackConfig: while an update rolls back, containers
// are replaced per the rollback config of the spec that failed (4 at a
// time here), not per the update config (1 at a time); without a rollback
// config the update config still rules.
func TestRollbackUsesRollbackConfig(t *testing.T) {
	for _, tt := range []struct {
		name     string
		rollback *api.UpdateConfig
		want     int // containers stopped in the first batch
	}{
		{"rollback config", &api.UpdateConfig{Parallelism: 4}, 4},
		{"update config", nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.putNode("n1", api.NodeDeployed, []string{"fake"}, nil)
			spec := api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 4, Update: api.UpdateConfig{Parallelism: 1}}
			svc := e.createService("web", spec)
			e.eventually(10*time.Second, func() error {
				if n := len(e.containers(svc.ID)); n != 4 {
					return fmt.Errorf("%d containers", n)
				}
				return nil
			})
			e.setAll(svc.ID, api.ContainerRunning, nil)
			e.waitState(svc.ID, api.ServiceRunning, 4)

			// The state rolledBack leaves: generation 1 is what the
			// containers must run again, the failed spec is PreviousSpec.
			e.modifyService(svc.ID, func(s *api.Service) {
				failed := s.Spec
				failed.Env = map[string]string{"V": "bad"}
				failed.Rollback = tt.rollback
				s.PreviousSpec, s.PreviousGeneration = &failed, 2
				s.RestartGeneration = 1
				s.Status.UpdateState, s.Status.UpdateGeneration = api.UpdateStateRollback, 1
			})
			stopping := func() int {
				n := 0
				for _, c := range e.containers(svc.ID) {
					if c.Spec.Generation == 0 && c.Spec.Desired == api.ContainerTerminated {
						n++
					}
				}
				return n
			}
			e.eventually(10*time.Second, func() error {
				if n := stopping(); n != tt.want {
					return fmt.Errorf("%d containers stopping, want %d: %s", n, tt.want, describe(e.containers(svc.ID)))
				}
				return nil
			})
			// No agent stops them, so the batch stays as it is: no more
			// than the parallelism is ever stopped at once.
			time.Sleep(500 * time.Millisecond)
			if n := stopping(); n != tt.want {
				t.Fatalf("%d containers stopping after a while, want %d", n, tt.want)
			}
		})
	}
}
