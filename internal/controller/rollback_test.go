package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
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

// TestRolloutRecordsStartAndEnd: a rollout's status says when it started
// (and no end while it goes on) and when it completed.
func TestRolloutRecordsStartAndEnd(t *testing.T) {
	e := newEnv(t)
	e.putNode("n1", api.NodeDeployed, []string{"fake"}, nil)
	svc := e.createService("web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 2})
	e.eventually(10*time.Second, func() error {
		if n := len(e.containers(svc.ID)); n != 2 {
			return fmt.Errorf("%d containers", n)
		}
		return nil
	})
	e.setAll(svc.ID, api.ContainerRunning, nil)
	e.waitState(svc.ID, api.ServiceRunning, 2)
	before := time.Now().UTC()
	e.modifyService(svc.ID, func(s *api.Service) { s.RestartGeneration++ })
	status := func(want string) api.ServiceStatus {
		t.Helper()
		var st api.ServiceStatus
		e.eventually(10*time.Second, func() error {
			s, err := e.service(svc.ID)
			if err != nil {
				return err
			}
			if st = s.Status; st.UpdateState != want {
				return fmt.Errorf("update state %q, want %q: %s", st.UpdateState, want, describe(e.containers(svc.ID)))
			}
			return nil
		})
		return st
	}
	st := status(api.UpdateStateUpdating)
	if st.UpdateStartedAt.Before(before.Add(-time.Second)) || !st.UpdateEndedAt.IsZero() {
		t.Fatalf("updating: started %v (asked at %v), ended %v", st.UpdateStartedAt, before, st.UpdateEndedAt)
	}
	started := st.UpdateStartedAt
	// Stop-first: each old container goes, its replacement comes; the
	// agent is played by setAll.
	e.eventually(20*time.Second, func() error {
		for _, c := range e.containers(svc.ID) {
			to := api.ContainerRunning
			if c.Spec.Desired == api.ContainerTerminated {
				to = api.ContainerTerminated
			}
			var cur api.Container
			err := e.st.Modify(e.ctx, store.KindContainers, c.ID, &cur, func() ([]api.Event, error) {
				if cur.Status.State == to {
					return nil, store.ErrNoChange
				}
				cur.Status.State = to
				return nil, nil
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) { // the controller may delete it meanwhile
				return err
			}
		}
		s, err := e.service(svc.ID)
		if err != nil {
			return err
		}
		if s.Status.UpdateState != api.UpdateStateDone {
			return fmt.Errorf("update state %q: %s", s.Status.UpdateState, describe(e.containers(svc.ID)))
		}
		return nil
	})
	st = status(api.UpdateStateDone)
	if !st.UpdateStartedAt.Equal(started) || st.UpdateEndedAt.Before(started) {
		t.Fatalf("completed: started %v (was %v), ended %v", st.UpdateStartedAt, started, st.UpdateEndedAt)
	}
}
