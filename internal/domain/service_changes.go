package domain

import (
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// The changes a user's call makes to one service, shared by the service
// handlers and the stack handlers (which make them to many services in one
// transaction). by says who asked, for the event: "" for a call on the
// service itself, " by its stack" or " by stack <name>".

// setSpec replaces svc's spec with next. A change to what the containers
// run is a rollout: the old spec is kept as PreviousSpec, the generation
// raised, and the controller replaces the containers per spec.update.
func setSpec(svc *api.Service, next api.ServiceSpec, by string) api.Event {
	old := svc.Spec
	svc.Spec = next
	if !needsRollout(old, next) {
		return serviceEvent(svc, "spec updated"+by+" (no container changes)")
	}
	gen := svc.NextGeneration()
	svc.PreviousSpec, svc.PreviousGeneration = &old, svc.RestartGeneration
	svc.PreviousResolvedImage = svc.ResolvedImage
	svc.RestartGeneration = gen
	ev := serviceEvent(svc, fmt.Sprintf("spec updated%s: its containers are replaced (generation %d)", by, gen))
	ev.State = string(api.ServiceRedeploying)
	return ev
}

// setRunningTo starts or stops svc; store.ErrNoChange when it already is.
func setRunningTo(svc *api.Service, running bool, by string) (api.Event, error) {
	if svc.Spec.Running == running {
		return api.Event{}, store.ErrNoChange
	}
	svc.Spec.Running = running
	msg := "stop requested"
	if running {
		msg = "start requested"
	}
	return serviceEvent(svc, msg+by), nil
}

// rerun raises svc's generation: the controller runs every container
// again, per spec.update. what names the request ("restart requested").
func rerun(svc *api.Service, what string) api.Event {
	svc.RestartGeneration = svc.NextGeneration()
	ev := serviceEvent(svc, fmt.Sprintf("%s: its containers run again one at a time (generation %d)", what, svc.RestartGeneration))
	ev.State = string(api.ServiceRedeploying)
	return ev
}

// terminate marks svc for removal: the controller removes its containers,
// then the service and its name index.
func terminate(svc *api.Service, by string) api.Event {
	svc.Terminating, svc.Spec.Running = true, false
	ev := serviceEvent(svc, "removal requested"+by)
	ev.State = string(api.ServiceTerminating)
	return ev
}
