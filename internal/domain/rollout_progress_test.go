package domain

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

func TestRollout(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start.Add(95 * time.Second)
	ctr := func(slot, gen int, state api.ContainerState, desired api.ContainerState) api.Container {
		return api.Container{Spec: api.ContainerSpec{Service: "s1", Slot: slot, Generation: gen, Desired: desired}, Status: api.ContainerStatus{State: state}}
	}
	cs := []api.Container{
		ctr(1, 2, api.ContainerRunning, api.ContainerRunning),
		ctr(1, 1, api.ContainerRunning, api.ContainerRunning), // start-first: the old one beside it
		ctr(2, 2, api.ContainerStarting, api.ContainerRunning),
		ctr(3, 1, api.ContainerRunning, api.ContainerRunning),
		ctr(4, 2, api.ContainerRunning, api.ContainerTerminated),
		{Spec: api.ContainerSpec{Service: "other", Slot: 3, Generation: 2, Desired: api.ContainerRunning}, Status: api.ContainerStatus{State: api.ContainerRunning}},
	}
	svc := func(st api.ServiceStatus, every bool) *api.Service {
		s := &api.Service{Meta: api.Meta{ID: "s1"}, Spec: api.ServiceSpec{Replicas: 3, Running: true}, Status: st}
		if every {
			s.Spec.Strategy = api.StrategyEveryNode
		}
		return s
	}
	if r := Rollout(svc(api.ServiceStatus{}, false), cs, now); r != nil {
		t.Errorf("no rollout: %+v", r)
	}
	for _, tc := range []struct {
		name  string
		st    api.ServiceStatus
		every bool
		want  RolloutProgress
	}{
		{"updating", api.ServiceStatus{UpdateState: api.UpdateStateUpdating, UpdateGeneration: 2, UpdateStartedAt: start}, false,
			RolloutProgress{Generation: 2, State: "updating", Active: true, Updated: 1, Total: 3, StartedAt: start, Elapsed: 95 * time.Second}},
		{"every node", api.ServiceStatus{UpdateState: api.UpdateStateUpdating, UpdateGeneration: 2, UpdateStartedAt: start}, true,
			RolloutProgress{Generation: 2, State: "updating", Active: true, Updated: 1, Total: 3, StartedAt: start, Elapsed: 95 * time.Second}},
		{"rolling back", api.ServiceStatus{UpdateState: api.UpdateStateRollback, UpdateGeneration: 1, UpdateStartedAt: start,
			UpdateMessage: "2 of 3 replacements failed (max failure ratio 0): exit 1; rolled back to the previous spec"}, false,
			RolloutProgress{Generation: 1, State: "rolling_back", Active: true, Updated: 2, Total: 3, StartedAt: start, Elapsed: 95 * time.Second,
				Failure: "2 of 3 replacements failed (max failure ratio 0): exit 1"}},
		{"paused", api.ServiceStatus{UpdateState: api.UpdateStatePaused, UpdateGeneration: 2, UpdateStartedAt: start,
			UpdateMessage: "1 of 3 replacements failed (max failure ratio 0); paused: update the service again to go on"}, false,
			RolloutProgress{Generation: 2, State: "paused", Active: true, Updated: 1, Total: 3, StartedAt: start, Elapsed: 95 * time.Second,
				Failure: "1 of 3 replacements failed (max failure ratio 0)"}},
		{"completed", api.ServiceStatus{UpdateState: api.UpdateStateDone, UpdateGeneration: 2, UpdateStartedAt: start,
			UpdateEndedAt: start.Add(42 * time.Second), UpdateMessage: "every container runs generation 2"}, false,
			RolloutProgress{Generation: 2, State: "completed", Updated: 1, Total: 3, StartedAt: start, EndedAt: start.Add(42 * time.Second),
				Elapsed: 42 * time.Second, Message: "every container runs generation 2"}},
		{"recorded before start times", api.ServiceStatus{UpdateState: api.UpdateStateDone, UpdateGeneration: 2}, false,
			RolloutProgress{Generation: 2, State: "completed", Updated: 1, Total: 3}},
	} {
		got := Rollout(svc(tc.st, tc.every), cs, now)
		if got == nil || *got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
