package testcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// stateLog records, from the event stream, the states one service went
// through, in order.
type stateLog struct {
	mu     sync.Mutex
	states []string
}

func (l *stateLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
}

// since returns the states recorded from index i on.
func (l *stateLog) since(i int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states[min(i, len(l.states)):])
}

func (l *stateLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.states)
}

// inOrder reports whether want appears in got as a subsequence.
func inOrder(got, want []string) bool {
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestEveryLifecycleVerb drives one service through every verb a user has
// (create, scale up and down, stop, start, redeploy, restart, update,
// terminate) on a server with three fake-driver agents, and checks the
// Docker Cloud state names each verb passes through on the event stream,
// and the containers' states, exit codes and names after each one.
func TestEveryLifecycleVerb(t *testing.T) {
	c := Start(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 1; i <= 3; i++ {
		joined(t, c, fmt.Sprintf("n%d", i), fake.New())
	}
	waitDeployed(t, c, 3)

	log := &stateLog{}
	var ctLog sync.Map // container name -> []string of states
	followed := make(chan error, 1)
	go func() {
		followed <- c.Client.FollowEvents(ctx, "", func(ev api.Event) error {
			switch {
			case ev.Kind == "service" && ev.Name == "web" && ev.State != "" && (ev.Type == "state" || ev.Type == "deleted"):
				log.add(ev.State)
			case ev.Kind == "container" && strings.HasPrefix(ev.Name, "web-") && ev.State != "":
				v, _ := ctLog.LoadOrStore(ev.Name, &stateLog{})
				v.(*stateLog).add(ev.State)
			}
			return nil
		})
	}()

	// step runs a verb, waits for the service to settle as ok says, and
	// checks the states it passed through since the verb.
	step := func(verb string, do func() error, want []string, ok func(api.Service, []api.Container) error) {
		t.Helper()
		from := log.len()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
		waitService(t, c, "web", ok)
		Eventually(t, 10*time.Second, func() error {
			if got := log.since(from); !inOrder(got, want) {
				return fmt.Errorf("%s: service states %v, want %v in that order", verb, got, want)
			}
			return nil
		})
	}
	settled := func(n int) func(api.Service, []api.Container) error {
		return func(s api.Service, cts []api.Container) error {
			live := liveContainers(cts)
			if s.Status.State != api.ServiceRunning || s.Status.RunningContainers != n || len(live) != n {
				return fmt.Errorf("service %s with %d running, %d containers: %s", s.Status.State, s.Status.RunningContainers, len(live), rows(cts))
			}
			for i, ct := range live {
				if want := fmt.Sprintf("web-%d", i+1); ct.Name != want || ct.Status.State != api.ContainerRunning {
					return fmt.Errorf("slot %d is %s %s: %s", i+1, ct.Name, ct.Status.State, rows(cts))
				}
			}
			return nil
		}
	}

	step("create", func() error {
		_, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 3})
		return err
	}, []string{string(api.ServiceStarting), string(api.ServiceRunning)}, settled(3))
	created := ids(t, c)

	step("scale up", func() error { _, err := c.Client.ScaleService(ctx, "web", 5); return err },
		[]string{string(api.ServiceScaling), string(api.ServiceRunning)}, settled(5))
	step("scale down", func() error { _, err := c.Client.ScaleService(ctx, "web", 2); return err },
		[]string{string(api.ServiceScaling), string(api.ServiceRunning)}, settled(2))
	if now := ids(t, c); now["web-1"] != created["web-1"] || now["web-2"] != created["web-2"] {
		t.Fatalf("scaling replaced slots 1 and 2: %v then %v", created, now)
	}

	step("stop", func() error { _, err := c.Client.ServiceAction(ctx, "web", "stop"); return err },
		[]string{string(api.ServiceStopping), string(api.ServiceStopped)},
		func(s api.Service, cts []api.Container) error {
			if s.Status.State != api.ServiceStopped {
				return fmt.Errorf("service %s", s.Status.State)
			}
			for _, ct := range liveContainers(cts) {
				if ct.Status.State != api.ContainerStopped || ct.Status.ExitCode == nil {
					return fmt.Errorf("after stop: %s", rows(cts))
				}
			}
			return nil
		})
	step("start", func() error { _, err := c.Client.ServiceAction(ctx, "web", "start"); return err },
		[]string{string(api.ServiceStarting), string(api.ServiceRunning)}, settled(2))

	before := ids(t, c)
	step("redeploy", func() error { _, err := c.Client.RedeployService(ctx, "web"); return err },
		[]string{string(api.ServiceRedeploying), string(api.ServiceRunning)}, settled(2))
	replaced(t, "redeploy", before, ids(t, c))

	before = ids(t, c)
	step("restart", func() error { _, err := c.Client.RestartService(ctx, "web"); return err },
		[]string{string(api.ServiceRedeploying), string(api.ServiceRunning)}, settled(2))
	replaced(t, "restart", before, ids(t, c))

	before = ids(t, c)
	step("update", func() error {
		_, err := c.Client.UpdateService(ctx, "web", map[string]any{"env": map[string]string{"COLOR": "blue"}}, 0)
		return err
	}, []string{string(api.ServiceRedeploying), string(api.ServiceRunning)}, func(s api.Service, cts []api.Container) error {
		if err := settled(2)(s, cts); err != nil {
			return err
		}
		for _, ct := range liveContainers(cts) {
			if ct.Spec.Env["COLOR"] != "blue" {
				return fmt.Errorf("%s runs without the new env: %v", ct.Name, ct.Spec.Env)
			}
		}
		return nil
	})
	replaced(t, "update", before, ids(t, c))

	from := log.len()
	if err := c.Client.RemoveService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		_, err := c.Client.Service(ctx, "web")
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 404 {
			return fmt.Errorf("service after terminate: %v", err)
		}
		cts, err := c.Client.Containers(ctx, "", "")
		if err != nil {
			return err
		}
		if len(cts) != 0 {
			return fmt.Errorf("containers left: %s", rows(cts))
		}
		if got, want := log.since(from), []string{string(api.ServiceTerminating), string(api.ServiceTerminated)}; !inOrder(got, want) {
			return fmt.Errorf("terminate: service states %v, want %v in that order", got, want)
		}
		return nil
	})
	// Every container the service ever had ended Terminated, by way of
	// Running.
	ctLog.Range(func(k, v any) bool {
		states := v.(*stateLog).since(0)
		if !inOrder(states, []string{string(api.ContainerRunning), string(api.ContainerTerminated)}) {
			t.Errorf("container %s went through %v", k, states)
		}
		return true
	})
	cancel()
	if err := <-followed; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("event stream: %v", err)
	}
}

// liveContainers returns the containers not on their way out, by slot.
func liveContainers(cts []api.Container) []api.Container {
	var live []api.Container
	for _, ct := range cts {
		if ct.Spec.Desired != api.ContainerTerminated {
			live = append(live, ct)
		}
	}
	slices.SortFunc(live, func(a, b api.Container) int { return a.Spec.Slot - b.Spec.Slot })
	return live
}

func rows(cts []api.Container) string {
	var b strings.Builder
	for _, ct := range cts {
		fmt.Fprintf(&b, "[%s %s desired=%s] ", ct.Name, ct.Status.State, ct.Spec.Desired)
	}
	return b.String()
}

// ids maps the service's live container names to their IDs.
func ids(t *testing.T, c *Cluster) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, ct := range liveContainers(mustContainers(t, c, "web")) {
		m[ct.Name] = ct.ID
	}
	return m
}

// replaced fails unless every slot of before runs under its name as a new
// container.
func replaced(t *testing.T, verb string, before, after map[string]string) {
	t.Helper()
	for name, id := range before {
		if after[name] == "" || after[name] == id {
			t.Fatalf("%s: slot %s not replaced (before %v, after %v)", verb, name, before, after)
		}
	}
}
