package controller

import (
	"fmt"
	"strconv"

	"github.com/wharfhq/wharf/api"
)

// Dependencies (Spec.DependsOn, Compose's depends_on) gate the containers
// a service starts: planRun creates a container desired Running, or asks a
// stopped one to run again, only when every dependency holds, and a
// rollout starts a batch only then. Otherwise the slot waits and each
// unmet dependency leaves a one-line reason in Status.Pending. Containers
// already running are never stopped because a dependency stopped holding.
// Conditions are read from the cache, so they are honoured across nodes;
// cache.dependants lets a change of a dependency (or of its containers)
// mark its dependants dirty.

// depsHold reports whether every dependency of p's service holds, and when
// one does not, records a pending reason per unmet dependency. It
// evaluates them once per plan. Services that are stopped, or have no
// dependency, are never held.
func (c slotReconciler) depsHold(p *plan) bool {
	svc := p.svc
	if svc == nil || !svc.Spec.Running || len(svc.Spec.DependsOn) == 0 {
		return true
	}
	if !p.depsChecked {
		p.depsChecked = true
		for _, d := range svc.Spec.DependsOn {
			if r := c.unmet(svc, d); r != "" {
				p.depsUnmet = append(p.depsUnmet, r)
			}
		}
	}
	if len(p.depsUnmet) == 0 {
		return true
	}
	if p.pending == nil {
		p.pending = map[string]bool{}
	}
	for _, r := range p.depsUnmet {
		p.pending[r] = true
	}
	return false
}

// unmet says why dependency d of svc does not hold, or "" when it does.
func (c slotReconciler) unmet(svc *api.Service, d api.Dependency) string {
	name := d.Service
	if name == svc.Name {
		return "service " + name + " depends on itself: the dependency cannot hold"
	}
	dep := c.cache.services[c.cache.byName[qualName(svc.Org, name)]]
	switch {
	case dep == nil:
		return "waiting for service " + name + ", which does not exist"
	case dep.Terminating:
		return "waiting for service " + name + ", which is being removed"
	}
	switch d.Condition {
	case api.ConditionHealthy:
		if dep.Spec.Healthcheck == nil {
			return "service " + name + " has no health check: " + api.ConditionHealthy + " cannot hold"
		}
		return c.depRunning(dep, true)
	case api.ConditionCompleted:
		return c.depCompleted(dep)
	case api.ConditionStarted, "":
		return c.depRunning(dep, false)
	}
	return fmt.Sprintf("depends on service %s with unknown condition %q", name, d.Condition)
}

// depRunning checks service_started (and, with healthy, service_healthy):
// the service runs, and each of its containers desired Running is Running
// (and healthy) and of the service's generation. A container a restart,
// redeploy or update is about to replace does not count: the pass that
// restarts a dependency sees it before it is stopped.
func (c slotReconciler) depRunning(dep *api.Service, healthy bool) string {
	what, verb := "running", "to start"
	if healthy {
		what, verb = "healthy", "to be healthy"
	}
	if !dep.Spec.Running {
		return "waiting for service " + dep.Name + ", which is stopped"
	}
	total, ok, stale := 0, 0, 0
	for _, ct := range c.cache.byService[dep.ID] {
		if ct.Spec.Desired != api.ContainerRunning {
			continue
		}
		total++
		switch {
		case ct.Spec.Generation != dep.RestartGeneration:
			stale++
		case ct.Status.State == api.ContainerRunning && (!healthy || ct.Status.Health == api.HealthHealthy):
			ok++
		}
	}
	switch {
	case total > 0 && ok == total:
		return ""
	case total == 0:
		return "waiting for service " + dep.Name + " " + verb + " (no container yet)"
	case stale > 0:
		return fmt.Sprintf("waiting for service %s %s (%d of %d containers %s; %d to be replaced)", dep.Name, verb, ok, total, what, stale)
	}
	return fmt.Sprintf("waiting for service %s %s (%d of %d containers %s)", dep.Name, verb, ok, total, what)
}

// depCompleted checks service_completed_successfully: the service has a
// container, and every one of its containers (but those being replaced or
// removed) has exited with code 0, in a run of the service's generation. A slot autodestroy emptied counts by
// the exit code its container left.
func (c slotReconciler) depCompleted(dep *api.Service) string {
	total, ok := 0, 0
	var failed *api.Container // the first, by slot, that exited non-zero
	for _, ct := range c.cache.byService[dep.ID] {
		if ct.Spec.Desired == api.ContainerTerminated && !ct.Spec.Destroyed {
			continue
		}
		total++
		st := ct.Status
		exited := st.State == api.ContainerStopped || (ct.Spec.Destroyed && st.State == api.ContainerTerminated)
		switch {
		case !exited || st.ExitCode == nil || ct.Spec.Generation != dep.RestartGeneration:
		case *st.ExitCode == 0:
			ok++
		case failed == nil || compareContainers(ct, failed) < 0:
			failed = ct
		}
	}
	switch {
	case total > 0 && ok == total:
		return ""
	case failed != nil:
		return "waiting for service " + dep.Name + " to complete successfully (" + failed.Name + " exited with code " + strconv.Itoa(*failed.Status.ExitCode) + ")"
	case total == 0:
		return "waiting for service " + dep.Name + " to complete successfully (no container yet)"
	}
	return fmt.Sprintf("waiting for service %s to complete successfully (%d of %d containers completed)", dep.Name, ok, total)
}
