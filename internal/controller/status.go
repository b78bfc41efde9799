package controller

import (
	"strconv"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/lifecycle"
)

// serviceStatus derives a service's status from its containers as they will
// be after this pass (p.items, with planned changes and creations).
//
// RunningContainers counts ready containers (Container.Ready: Running and,
// with a health check, healthy) whose Spec.Desired is Running; a running
// container that is not healthy yet is coming up. Synchronized: no rollout
// runs and every container has the service's generation. State, first rule that applies:
//
//	Terminating     the service is being removed
//	Stopping        stopped by the user, some container still Starting/Running/Stopping on a Deployed node
//	Stopped         stopped by the user, none still active
//	Redeploying     `service restart` is rolling through the slots
//	Scaling         containers beyond Replicas (desired Terminated) still exist
//	Not running     Replicas is 0, or autodestroy emptied every slot
//	Running         every slot runs
//	Scaling         it was Running/Scaling and every slot not running is coming up (new slots)
//	Failing         some slot fails (FailingContainers > 0)
//	Partly running  some slots run, not all
//	Starting        none runs yet, some are coming up on a node
//	Not running     none runs and none is coming up on a node (failed, or cannot be placed)
//
// A slot that does not run is "coming up" when its container is Pending, or
// Starting for the first time, or (while the service comes back from a
// stop) Stopping, or Stopped by a stop rather than by its own exit (see
// lifecycle.OwnExit); any other state counts as failed. Slots that
// autodestroy emptied are not wanted; copies left on an unreachable node
// after their slot was replaced do not count as extra. Slots that
// depends_on holds back (no container yet) count as coming up on a node;
// slots left without a container for want of an address (a full or
// missing network) count as failed.
//
// A slot fails when its container, of the service's current generation
// (so the count starts over at each spec change, restart or redeploy),
// should run and does not: its last run failed (ContainerStatus.Failed: a
// failed start, or an exit with an error), it is starting again after an
// exit (autorestart), or it runs unhealthy. LastError is the latest such
// failure's error; while a failing slot restarts (no error in its status),
// the one before is kept.
func (c *Services) serviceStatus(p *plan) api.ServiceStatus {
	svc := p.svc
	prev := svc.Status.State
	fromStop := prev == api.ServiceStopped || prev == api.ServiceStopping || prev == api.ServiceStarting
	want := max(p.want-p.destroyed, 0)
	var running, extra, active, failed, failing, comingPlaced int
	var lastErr string
	var lastAt time.Time
	synced := !p.restarting
	for _, it := range p.items {
		if it.del {
			continue
		}
		ct := it.cur
		st := ct.Status.State
		if ct.Ready() && ct.Spec.Desired == api.ContainerRunning {
			running++
		}
		if ct.Spec.Desired != api.ContainerTerminated && ct.Spec.Generation != svc.RestartGeneration {
			synced = false
		}
		if (st == api.ContainerStarting || st == api.ContainerRunning || st == api.ContainerStopping) && c.onDeployedNode(ct) {
			active++
		}
		if ct.Spec.Desired == api.ContainerTerminated {
			if !ct.Spec.Destroyed && c.onDeployedNode(ct) {
				extra++
			}
			continue
		}
		if ct.Spec.Desired != api.ContainerRunning || ct.Ready() {
			continue
		}
		if ct.Spec.Generation == svc.RestartGeneration && (ct.Status.Failed() || ct.Status.LastError() != "" ||
			(st == api.ContainerStarting && ct.Status.RestartCount > 0)) {
			failing++
			if e := ct.Status.LastError(); e != "" && (lastErr == "" || ct.Status.FinishedAt.After(lastAt)) {
				lastErr, lastAt = e, ct.Status.FinishedAt
			}
		}
		coming := st == "" || st == api.ContainerPending || (st == api.ContainerRunning && ct.Status.Health != api.HealthUnhealthy) ||
			(st == api.ContainerStarting && ct.Status.RestartCount == 0) ||
			(fromStop && (st == api.ContainerStopping || (st == api.ContainerStopped && !lifecycle.OwnExit(ct.Status) && !ct.Status.Failed())))
		switch {
		case !coming:
			failed++
		case ct.Spec.Node != "":
			comingPlaced++
		}
	}

	comingPlaced += p.depsHeld // held by depends_on: coming up once it holds
	failed += p.netHeld        // no address: not coming up until one is free

	s := api.ServiceStatus{RunningContainers: running, Synchronized: synced,
		UpdateState: svc.Status.UpdateState, UpdateGeneration: svc.Status.UpdateGeneration, UpdateMessage: svc.Status.UpdateMessage,
		UpdateStartedAt: svc.Status.UpdateStartedAt, UpdateEndedAt: svc.Status.UpdateEndedAt}
	if p.updState != "" {
		s.UpdateState, s.UpdateGeneration, s.UpdateMessage = p.updState, svc.RestartGeneration, p.updMessage
		switch now := time.Now().UTC().Round(0); p.updState {
		case api.UpdateStateUpdating: // a rollout starts
			s.UpdateStartedAt, s.UpdateEndedAt = now, time.Time{}
		case api.UpdateStateDone, api.UpdateStateRolledBk:
			s.UpdateEndedAt = now
		}
	}
	if !svc.Terminating && svc.Spec.Running {
		s.Pending = p.pendingText()
		s.FailingContainers = failing
	}
	if s.FailingContainers > 0 {
		s.LastError = lastErr
		if s.LastError == "" {
			s.LastError = svc.Status.LastError // restarting: the error of the run before
		}
	}
	switch {
	case svc.Terminating:
		s.State = api.ServiceTerminating
	case !svc.Spec.Running && active > 0:
		s.State = api.ServiceStopping
	case !svc.Spec.Running:
		s.State = api.ServiceStopped
	case p.restarting:
		s.State = api.ServiceRedeploying
	case extra > 0:
		s.State = api.ServiceScaling
	case want == 0:
		s.State = api.ServiceNotRunning
	case running >= want:
		s.State = api.ServiceRunning
	case failed == 0 && (prev == api.ServiceRunning || prev == api.ServiceScaling):
		s.State = api.ServiceScaling
	case failing > 0:
		s.State = api.ServiceFailing
	case running > 0:
		s.State = api.ServicePartlyRunning
	case comingPlaced > 0:
		s.State = api.ServiceStarting
	default:
		s.State = api.ServiceNotRunning
	}
	return s
}

// onActiveNode: node id is Deployed and active, so that a new container
// may go there (a restart keeps its node only then).
func (c *Services) onActiveNode(id string) bool {
	n := c.cache.nodes[id]
	return n != nil && n.State == api.NodeDeployed && n.Available() == api.AvailabilityActive
}

func (c *Services) onDeployedNode(ct *api.Container) bool {
	n := c.cache.nodes[ct.Spec.Node]
	return ct.Spec.Node != "" && n != nil && n.State == api.NodeDeployed
}

// statusEvents describes a status change: a "state" event when the state
// moved, a "pending" event when what holds slots back (placement,
// depends_on) changed.
func statusEvents(svc *api.Service, s api.ServiceStatus, want int) []api.Event {
	var ev []api.Event
	if s.State != svc.Status.State {
		ev = append(ev, api.Event{
			Kind: "service", Object: svc.ID, Name: svc.Name, Type: "state", State: string(s.State),
			Message: stateMessage(s, want),
		})
	}
	if s.Pending != svc.Status.Pending {
		msg := "every container is placed"
		if s.Pending != "" {
			msg = "pending: " + s.Pending
		}
		ev = append(ev, api.Event{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "pending", State: string(s.State), Message: msg})
	}
	return ev
}

// stateMessage is a state event's message: how many containers run, and
// for a failing service how many fail, with the last error.
func stateMessage(s api.ServiceStatus, want int) string {
	msg := strconv.Itoa(s.RunningContainers) + " of " + strconv.Itoa(want) + " containers running"
	if s.State == api.ServiceFailing {
		msg += ", " + strconv.Itoa(s.FailingContainers) + " failing: " + s.LastError
	}
	return msg
}
