package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

// env is one embedded etcd with a running service controller.
type env struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Store
	ctrl *Services
}

func newEnv(t *testing.T, tune ...func(*Services)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(e.Client, "/wharf")
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	ctrl := NewServices(st, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	for _, f := range tune {
		f(ctrl)
	}
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		e.Close()
	})
	en := &env{t: t, ctx: ctx, st: st, ctrl: ctrl}
	en.eventually(10*time.Second, func() error {
		if !ctrl.Running() {
			return errors.New("controller not running")
		}
		return nil
	})
	return en
}

// eventually polls fn until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) eventually(timeout time.Duration, fn func() error) {
	e.t.Helper()
	eventually(e.t, timeout, fn)
}

func (e *env) putNode(id string, state api.NodeState, drivers []string, labels map[string]string) {
	e.t.Helper()
	n := &api.Node{Meta: api.Meta{ID: id, Name: "host-" + id}, State: state, Drivers: drivers, Labels: labels}
	var cur api.Node
	if err := e.st.Get(e.ctx, store.KindNodes, id, &cur); err == nil {
		n.Revision = cur.Revision
		if err := e.st.Update(e.ctx, store.KindNodes, n); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	if err := e.st.Create(e.ctx, store.KindNodes, n); err != nil {
		e.t.Fatal(err)
	}
}

// nameIdx is how the test writes the name index (the API's shape may
// differ; the controller only needs the service ID in the value).
type nameIdx struct {
	api.Meta
	Target string `json:"target"`
}

// createService writes a service and its name index as the API does.
func (e *env) createService(name string, spec api.ServiceSpec) *api.Service {
	e.t.Helper()
	spec.Running = true
	s := &api.Service{Meta: api.Meta{ID: randomID(), Name: name}, Spec: spec, Status: api.ServiceStatus{State: api.ServiceNotRunning}}
	t := e.st.Txn()
	t.Create(store.KindServices, s)
	t.Create(store.KindNames, &nameIdx{Meta: api.Meta{ID: "services." + name}, Target: s.ID})
	if err := t.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) modifyService(id string, fn func(*api.Service)) {
	e.t.Helper()
	var s api.Service
	if err := e.st.Modify(e.ctx, store.KindServices, id, &s, func() ([]api.Event, error) {
		fn(&s)
		return nil, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) service(id string) (*api.Service, error) {
	var s api.Service
	err := e.st.Get(e.ctx, store.KindServices, id, &s)
	return &s, err
}

// containers lists a service's containers by slot.
func (e *env) containers(serviceID string) []*api.Container {
	e.t.Helper()
	all, _, err := store.ListAll[api.Container](e.ctx, e.st, store.KindContainers)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*api.Container
	for _, c := range all {
		if c.Spec.Service == serviceID {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, compareContainers)
	return out
}

// setStatus writes a container's Status.State as the gateway would.
func (e *env) setStatus(id string, state api.ContainerState) {
	e.t.Helper()
	var c api.Container
	if err := e.st.Modify(e.ctx, store.KindContainers, id, &c, func() ([]api.Event, error) {
		c.Status.State = state
		return nil, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// setAll simulates agents: every container of the service matching pick
// gets the state.
func (e *env) setAll(serviceID string, state api.ContainerState, pick func(*api.Container) bool) {
	e.t.Helper()
	for _, c := range e.containers(serviceID) {
		if pick == nil || pick(c) {
			e.setStatus(c.ID, state)
		}
	}
}

// waitState waits for a service's Status.State and RunningContainers.
func (e *env) waitState(id string, state api.ServiceState, running int) {
	e.t.Helper()
	e.eventually(10*time.Second, func() error {
		s, err := e.service(id)
		if err != nil {
			return err
		}
		if s.Status.State != state || s.Status.RunningContainers != running {
			return fmt.Errorf("status = %s/%d, want %s/%d", s.Status.State, s.Status.RunningContainers, state, running)
		}
		return nil
	})
}

// describe renders containers for error messages.
func describe(cs []*api.Container) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "[%s slot=%d node=%s desired=%s state=%s] ", c.Name, c.Spec.Slot, c.Spec.Node, c.Spec.Desired, c.Status.State)
	}
	return b.String()
}

// cacheDefaultNetwork puts the default organization's default network in
// the cache of a Services built without a store (which cannot create it).
func cacheDefaultNetwork(c *Services) {
	n := netalloc.NewNetwork("", api.DefaultNetworkName, netip.MustParsePrefix(api.DefaultSubnet), netalloc.FirstVNI)
	n.Revision = 1
	c.cache.networks[n.ID] = n
}
