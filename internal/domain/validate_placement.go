package domain

import (
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/scheduler"
)

// strategies are the names spec.strategy may take.
var strategies = api.Strategies.Values

// validatePlacement checks what the scheduler and the agents read:
// strategy, constraints, affinities, reservations and restart policies.
func validatePlacement(spec *api.ServiceSpec) error {
	if spec.Strategy != "" && !slices.Contains(strategies, spec.Strategy) {
		return errdefs.Invalid("spec.strategy", "unknown strategy %q: want one of %s (any case, - or _)", spec.Strategy, strings.Join(strategies, ", "))
	}
	for i, c := range spec.Constraints {
		if _, err := scheduler.ParseConstraint(c); err != nil {
			return errdefs.Invalid("spec.constraints["+strconv.Itoa(i)+"]", "%s", err.Error())
		}
	}
	for i, a := range spec.Affinities {
		if _, err := scheduler.ParseAffinity(a); err != nil {
			return errdefs.Invalid("spec.affinities["+strconv.Itoa(i)+"]", "%s", err.Error())
		}
	}
	if spec.Reservations.MemoryBytes < 0 {
		return errdefs.Invalid("spec.reservations.memory_bytes", "must be 0 (none) or more, got %d", spec.Reservations.MemoryBytes)
	}
	if spec.Reservations.NanoCPUs < 0 {
		return errdefs.Invalid("spec.reservations.nano_cpus", "must be 0 (none) or more, got %d", spec.Reservations.NanoCPUs)
	}
	switch spec.Autorestart {
	case "", api.PolicyOff, api.PolicyOnFailure, api.PolicyAlways:
	default:
		return errdefs.Invalid("spec.autorestart", "unknown policy %q: want OFF, ON_FAILURE or ALWAYS (any case, - or _)", spec.Autorestart)
	}
	switch spec.Autodestroy {
	case "", api.PolicyOff, api.PolicyOnSuccess:
	case api.PolicyAlways:
		if spec.Autorestart != "" && spec.Autorestart != api.PolicyOff {
			return errdefs.Invalid("spec.autodestroy", "ALWAYS needs autorestart OFF (it is %s): a container cannot be both restarted and destroyed", spec.Autorestart)
		}
	default:
		return errdefs.Invalid("spec.autodestroy", "unknown policy %q: want OFF, ON_SUCCESS or ALWAYS (any case, - or _)", spec.Autodestroy)
	}
	if err := validateStandalone(spec); err != nil {
		return err
	}
	if spec.StopAfterDisconnect < 0 {
		return errdefs.Invalid("spec.stop_after_disconnect", "must be 0 (never) or a number of seconds, got %d", spec.StopAfterDisconnect)
	}
	return nil
}

// validateStandalone checks the service of a Docker API container: one
// replica, not EVERY_NODE, and a known reschedule policy (which only such
// a service has).
func validateStandalone(spec *api.ServiceSpec) error {
	switch spec.Reschedule {
	case "", api.RescheduleOff, api.RescheduleOnNodeFailure:
	default:
		return errdefs.Invalid("spec.reschedule", "unknown reschedule policy %q: want %s or %s", spec.Reschedule, api.RescheduleOff, api.RescheduleOnNodeFailure)
	}
	if !spec.Standalone {
		if spec.Reschedule != "" {
			return errdefs.Invalid("spec.reschedule", "only a standalone container (spec.standalone) has a reschedule policy; a service's containers always run again elsewhere when their node fails")
		}
		return nil
	}
	if spec.Replicas != 1 {
		return errdefs.Invalid("spec.replicas", "a standalone container's service has exactly 1 replica, got %d", spec.Replicas)
	}
	if spec.Strategy == api.StrategyEveryNode {
		return errdefs.Invalid("spec.strategy", "a standalone container's service cannot be EVERY_NODE")
	}
	return nil
}
