package controller

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// rolloutReconciler is the rollout reconciler: it rolls restarts,
// redeploys and spec updates through a service's slots per Spec.Update
// (parallelism, stop- or start-first, Delay between batches), gates each
// replacement on readiness for Monitor (readySeen, tickAt) and pauses or
// rolls back past the failure ratio. It works over the shared cache; the
// slots reconciler calls it once per running service, after the
// per-container decisions and before missing slots are filled, and the
// loop calls cleanReady after each pass.
type rolloutReconciler struct{ *Services }

// rollout returns the rollout reconciler over c's cache.
func (c *Services) rollout() rolloutReconciler { return rolloutReconciler{c} }

// planRollout replaces the containers whose generation is not the
// service's (after a restart, redeploy or spec update) per Spec.Update:
// at most Parallelism slots at a time, stop-first (the old container is
// stopped and removed, then its slot runs again on the same node when it
// can) or start-first (the old container runs until its replacement is
// done). A replacement is done once it has been ready for Monitor; one that
// fails (stops, restarts or turns unhealthy) counts against
// MaxFailureRatio, past which the rollout pauses or rolls back to
// PreviousSpec. Delay separates batches.
func (c rolloutReconciler) planRollout(p *plan, bySlot, replacing map[int]*item, held map[int]bool, slots []int) {
	want := len(slots)
	svc := p.svc
	gen := svc.RestartGeneration
	st := svc.Status
	ours := st.UpdateGeneration == gen
	rollingBack := ours && st.UpdateState == api.UpdateStateRollback
	cfg := rolloutConfig(svc)
	par, delay, _, err := cfg.Settings()
	if err != nil {
		par, delay = max(cfg.Parallelism, 1), 0
	}
	var stale []int
	inflight, failed := p.stopping+len(replacing), 0
	lastErr := "" // a failed replacement's error, for the update message
	var lastDone time.Time
	for _, slot := range slots {
		it := bySlot[slot]
		switch {
		case it == nil && !held[slot]:
			inflight++ // created in this pass
		case it == nil:
		case it.cur.Spec.Generation != gen:
			if replacing[slot] == nil {
				stale = append(stale, slot)
			}
		case failedRun(it.cur):
			failed++
			if e := it.cur.Status.LastError(); e != "" {
				lastErr = e
			}
		case !c.done(p, it.cur):
			inflight++
		default:
			lastDone = later(lastDone, c.readySeen[it.cur.ID].Add(c.monitor(svc)))
		}
	}
	if len(stale) == 0 && inflight == 0 {
		if ours && st.UpdateState == api.UpdateStateUpdating {
			p.updState, p.updMessage = api.UpdateStateDone, "every container runs generation "+strconv.Itoa(gen)
			p.event(api.ServiceRunning, "update completed: every container runs generation "+strconv.Itoa(gen))
		} else if ours && st.UpdateState == api.UpdateStateRollback {
			p.updState, p.updMessage = api.UpdateStateRolledBk, st.UpdateMessage // why it rolled back
			p.event(api.ServiceRunning, "rollback completed: every container runs generation "+strconv.Itoa(gen))
		}
		return
	}
	if len(stale) == 0 && p.stopping == 0 && len(replacing) == 0 {
		return // slots coming up, no rollout
	}
	p.restarting = true
	if !ours {
		p.updState, p.updMessage = api.UpdateStateUpdating, ""
		p.event(api.ServiceRedeploying, fmt.Sprintf("update started: %d containers to replace, %d at a time (%s)", len(stale), par, orderOf(cfg)))
	}
	if ours && st.UpdateState == api.UpdateStatePaused {
		return
	}
	if failed > 0 && !rollingBack && float64(failed)/float64(max(want, 1)) > cfg.MaxFailureRatio {
		msg := fmt.Sprintf("%d of %d replacements failed (max failure ratio %g)", failed, want, cfg.MaxFailureRatio)
		if lastErr != "" {
			msg += ": " + lastErr
		}
		if cfg.FailureAction == api.FailurePause || svc.PreviousSpec == nil {
			p.updState, p.updMessage = api.UpdateStatePaused, msg+"; paused: update the service again to go on"
			p.event(api.ServiceRedeploying, "update paused: "+msg)
			return
		}
		p.rollback, p.updMessage = true, msg+"; rolled back to the previous spec"
		p.event(api.ServiceRedeploying, "update failed: "+msg+": rolling back to generation "+strconv.Itoa(svc.PreviousGeneration))
		return
	}
	free := par - inflight
	if free <= 0 || len(stale) == 0 {
		return
	}
	if inflight == 0 && delay > 0 && !lastDone.IsZero() {
		if at := lastDone.Add(delay); time.Now().Before(at) {
			c.wakeAt(at)
			return
		}
	}
	if !c.slots().depsHold(p) {
		return // depends_on: no replacement starts until the dependencies hold
	}
	batch := stale[:min(free, len(stale))]
	names := make([]string, len(batch))
	for i, slot := range batch {
		it := bySlot[slot]
		names[i] = it.cur.Name
		delete(bySlot, slot)
		if cfg.Order == api.OrderStartFirst && it.cur.Spec.Desired == api.ContainerRunning && !c.onOverlay(it.cur) {
			replacing[slot] = it // runs until its replacement, created below, is done
			continue
		}
		held[slot] = true
		it.edit().Spec.Desired = api.ContainerTerminated
		it.event("updated", "update: stopping slot "+strconv.Itoa(slot)+" before it runs again")
	}
	p.event(api.ServiceRedeploying, "update: replacing "+strings.Join(names, ", "))
}

// event records a service event of the pass.
func (p *plan) event(state api.ServiceState, msg string) {
	p.events = append(p.events, api.Event{Kind: "service", Object: p.svc.ID, Name: p.svc.Name, Type: "update", State: string(state), Message: msg})
}

// onOverlay reports whether ct holds an overlay address on a node that
// runs the overlay: its slot's replacement must not run beside it (one
// address, one MAC, one place), so a start-first update stops it first.
func (c *Services) onOverlay(ct *api.Container) bool {
	n := c.cache.nodes[ct.Spec.Node]
	return len(ct.Spec.Networks) > 0 && n != nil && n.OverlayAddress != ""
}

func orderOf(cfg api.UpdateConfig) string {
	if cfg.Order == "" {
		return api.OrderStopFirst
	}
	return cfg.Order
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rolloutConfig is how svc's containers are replaced now: per Spec.Update,
// or, while an update rolls back, per the rollback config of the spec that
// failed (PreviousSpec once rolledBack has swapped them) when it has one.
func rolloutConfig(svc *api.Service) api.UpdateConfig {
	st := svc.Status
	if st.UpdateState == api.UpdateStateRollback && st.UpdateGeneration == svc.RestartGeneration &&
		svc.PreviousSpec != nil && svc.PreviousSpec.Rollback != nil {
		return *svc.PreviousSpec.Rollback
	}
	return svc.Spec.Update
}

func (c rolloutReconciler) monitor(svc *api.Service) time.Duration {
	_, _, m, err := rolloutConfig(svc).Settings()
	if err != nil {
		return 0
	}
	return m
}

// done: the container has been ready (as this controller saw it) for the
// service's Monitor. The first sight is kept in memory: a restarted server
// watches a whole Monitor again.
func (c rolloutReconciler) done(p *plan, ct *api.Container) bool {
	if !ct.Ready() || ct.Spec.Desired != api.ContainerRunning {
		delete(c.readySeen, ct.ID)
		return false
	}
	seen, ok := c.readySeen[ct.ID]
	now := time.Now()
	if !ok {
		seen = now
		c.readySeen[ct.ID] = now
	}
	m := c.monitor(p.svc)
	if now.Sub(seen) >= m {
		return true
	}
	c.wakeAt(seen.Add(m))
	return false
}

// failedRun: a container that should run has stopped, is restarting after
// a crash or is unhealthy.
func failedRun(ct *api.Container) bool {
	st := ct.Status
	return ct.Spec.Desired == api.ContainerRunning &&
		(st.State == api.ContainerStopped || (st.State == api.ContainerStarting && st.RestartCount > 0) || st.Health == api.HealthUnhealthy)
}

// wakeAt asks for a pass over every service at t (a Monitor or Delay ends).
func (c rolloutReconciler) wakeAt(t time.Time) {
	if c.tickAt.IsZero() || t.Before(c.tickAt) {
		c.tickAt = t
	}
}

// rolledBack returns svc with Spec and PreviousSpec (and generations)
// swapped: the rollout to its spec failed, as msg says.
func rolledBack(svc *api.Service, msg string) *api.Service {
	cp := *svc
	prev := *svc.PreviousSpec
	prev.Running, prev.Replicas = svc.Spec.Running, svc.Spec.Replicas
	cur := svc.Spec
	cp.Spec, cp.PreviousSpec = prev, &cur
	cp.RestartGeneration, cp.PreviousGeneration = svc.PreviousGeneration, svc.RestartGeneration
	cp.ResolvedImage, cp.PreviousResolvedImage = svc.PreviousResolvedImage, svc.ResolvedImage
	cp.Status.UpdateState, cp.Status.UpdateGeneration = api.UpdateStateRollback, cp.RestartGeneration
	cp.Status.UpdateMessage = msg
	return &cp
}

// cleanReady forgets what readySeen holds of containers no longer cached.
func (c rolloutReconciler) cleanReady() {
	for id := range c.readySeen {
		if c.cache.containers[id] == nil {
			delete(c.readySeen, id)
		}
	}
}
