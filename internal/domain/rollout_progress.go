package domain

import (
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// RolloutProgress is a service's last rollout as its status and
// containers tell it: what the dashboard's service page shows (and any
// other front door may).
type RolloutProgress struct {
	// Generation is the generation the rollout brings the containers to
	// (while it rolls back, the one it goes back to).
	Generation int
	// State is updating, paused, rolling_back, completed or rolled_back
	// (api.UpdateState...); Active says it goes on (updating, paused or
	// rolling back).
	State  string
	Active bool
	// Updated counts the slots whose container runs Generation and is
	// ready, of Total, the slots the service wants.
	Updated, Total int
	// StartedAt is when it started (zero for a rollout recorded before
	// servers kept it); EndedAt when it completed or rolled back; Elapsed
	// runs from StartedAt to EndedAt, or to now while it goes on.
	StartedAt, EndedAt time.Time
	Elapsed            time.Duration
	// Failure is what paused it or made it roll back: the failure ratio
	// passed and the last replacement's error.
	Failure string
	// Message is the controller's note on it, when it is no failure.
	Message string
}

// Rollout derives svc's last rollout from its status and its containers
// cs, at now; nil when the service has had none.
func Rollout(svc *api.Service, cs []api.Container, now time.Time) *RolloutProgress {
	st := svc.Status
	if st.UpdateState == "" {
		return nil
	}
	r := &RolloutProgress{Generation: st.UpdateGeneration, State: st.UpdateState, StartedAt: st.UpdateStartedAt, EndedAt: st.UpdateEndedAt}
	switch st.UpdateState {
	case api.UpdateStateUpdating, api.UpdateStatePaused, api.UpdateStateRollback:
		r.Active = true
	}
	switch st.UpdateState {
	case api.UpdateStatePaused, api.UpdateStateRollback, api.UpdateStateRolledBk:
		r.Failure = strings.TrimSuffix(strings.TrimSuffix(st.UpdateMessage, "; rolled back to the previous spec"), "; paused: update the service again to go on")
	default:
		r.Message = st.UpdateMessage
	}
	wanted := map[int]bool{}
	ready := map[int]bool{}
	for i := range cs {
		c := &cs[i]
		if c.Spec.Service != svc.ID || c.Spec.Desired == api.ContainerTerminated {
			continue
		}
		wanted[c.Spec.Slot] = true
		if c.Spec.Generation == r.Generation && c.Spec.Desired == api.ContainerRunning && c.Ready() {
			ready[c.Spec.Slot] = true
		}
	}
	r.Updated, r.Total = len(ready), len(wanted)
	if svc.Spec.Strategy != api.StrategyEveryNode {
		r.Total = max(svc.Spec.Replicas, 0)
		r.Updated = min(r.Updated, r.Total)
	}
	switch end := r.EndedAt; {
	case r.StartedAt.IsZero():
	case !end.IsZero() && !r.Active:
		r.Elapsed = end.Sub(r.StartedAt)
	default:
		r.Elapsed = now.Sub(r.StartedAt)
	}
	r.Elapsed = max(r.Elapsed, 0).Round(time.Second)
	return r
}
