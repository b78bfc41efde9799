package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// putOrgNode writes a node of organization org.
func (e *env) putOrgNode(id, org string, drivers []string) {
	e.t.Helper()
	n := &api.Node{Meta: api.Meta{ID: id, Name: "host-" + id, Org: org}, State: api.NodeDeployed, Drivers: drivers}
	if err := e.st.Create(e.ctx, store.KindNodes, n); err != nil {
		e.t.Fatal(err)
	}
}

// createOrgService writes a service of organization org and its name
// index, as the domain layer does.
func (e *env) createOrgService(name, org string, spec api.ServiceSpec) *api.Service {
	e.t.Helper()
	spec.Running = true
	s := &api.Service{Meta: api.Meta{ID: randomID(), Name: name, Org: org}, Spec: spec, Status: api.ServiceStatus{State: api.ServiceNotRunning}}
	t := e.st.Txn()
	t.Create(store.KindServices, s)
	t.Create(store.KindNames, &nameIdx{Meta: api.Meta{ID: records.NameKey(store.KindServices, org, name), Org: org}, Target: s.ID})
	if err := t.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestServicePlacedOnlyOnItsOrgNodes: a service of organization b is
// never placed on a node of organization a; with none of its own it stays
// pending and says why; once b has a node, it runs there. Its containers
// and their events are b's.
func TestServicePlacedOnlyOnItsOrgNodes(t *testing.T) {
	e := newEnv(t)
	e.putOrgNode("na", "a", []string{"exec"})
	sa := e.createOrgService("web", "a", api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 2})
	sb := e.createOrgService("web", "b", api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 2})
	e.eventually(10*time.Second, func() error {
		s, err := e.service(sb.ID)
		if err != nil {
			return err
		}
		if !strings.Contains(s.Status.Pending, "no node in organization b") {
			return fmt.Errorf("b's pending: %q", s.Status.Pending)
		}
		for _, c := range e.containers(sa.ID) {
			if c.Spec.Node != "na" || c.Org != "a" {
				return fmt.Errorf("a's containers: %s", describe(e.containers(sa.ID)))
			}
		}
		if len(e.containers(sa.ID)) != 2 {
			return fmt.Errorf("a's containers: %s", describe(e.containers(sa.ID)))
		}
		return nil
	})
	for _, c := range e.containers(sb.ID) {
		if c.Spec.Node != "" || c.Org != "b" {
			t.Fatalf("b's container %s: node %q org %q", c.ID, c.Spec.Node, c.Org)
		}
	}
	// An EVERY_NODE service of b has no node to run on either.
	se := e.createOrgService("agent", "b", api.ServiceSpec{Command: []string{"sleep", "1"}, Strategy: api.StrategyEveryNode})
	e.eventually(10*time.Second, func() error {
		s, err := e.service(se.ID)
		if err != nil {
			return err
		}
		if cs := e.containers(se.ID); len(cs) != 0 || !strings.Contains(s.Status.Pending, "no node in organization b") {
			return fmt.Errorf("b's every-node service: %q %s", s.Status.Pending, describe(cs))
		}
		return nil
	})
	e.putOrgNode("nb", "b", []string{"exec"})
	e.eventually(10*time.Second, func() error {
		cs := append(e.containers(sb.ID), e.containers(se.ID)...)
		if len(cs) != 3 {
			return fmt.Errorf("b's containers: %s", describe(cs))
		}
		for _, c := range cs {
			if c.Spec.Node != "nb" || c.Org != "b" {
				return fmt.Errorf("b's containers: %s", describe(cs))
			}
		}
		return nil
	})
	evs, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind != "container" {
			continue
		}
		n++
		var c api.Container
		if err := e.st.Get(e.ctx, store.KindContainers, ev.Object, &c); err == nil && c.Org != ev.Org {
			t.Errorf("event %+v about a container of %q", ev, c.Org)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no container events")
	}
}

// TestLinksAndDependenciesStayInTheirOrg: a dependency names a service of
// the dependant's organization: b's "app" waits for b's "db", not a's.
func TestDependenciesStayInTheirOrg(t *testing.T) {
	e := newEnv(t)
	e.putOrgNode("na", "a", []string{"exec"})
	e.putOrgNode("nb", "b", []string{"exec"})
	e.createOrgService("db", "a", api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 1})
	app := e.createOrgService("app", "b", api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 1,
		DependsOn: []api.Dependency{{Service: "db", Condition: api.ConditionStarted}}})
	e.eventually(10*time.Second, func() error {
		s, err := e.service(app.ID)
		if err != nil {
			return err
		}
		if !strings.Contains(s.Status.Pending, "waiting for service db, which does not exist") {
			return fmt.Errorf("b's app: %q", s.Status.Pending)
		}
		return nil
	})
}
