package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime"
	execdrv "github.com/wharfhq/wharf/internal/runtime/exec"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

func joined(t *testing.T, c *Cluster, name string, d runtime.Driver) *Agent {
	t.Helper()
	return joinedWith(t, c, name, nil, d)
}

// joinedWith is joined with tweak applied to the agent's Config.
func joinedWith(t *testing.T, c *Cluster, name string, tweak func(*agent.Config), d runtime.Driver) *Agent {
	t.Helper()
	a := c.StartAgentWith(filepath.Join(c.DataDir, name), name, nil, tweak, d)
	Eventually(t, 30*time.Second, func() error {
		if a.NodeID() == "" {
			return errors.New("not joined")
		}
		return nil
	})
	return a
}

func waitService(t *testing.T, c *Cluster, name string, ok func(api.Service, []api.Container) error) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		s, err := c.Client.Service(context.Background(), name)
		if err != nil {
			return err
		}
		cts, err := c.Client.Containers(context.Background(), name, "")
		if err != nil {
			return err
		}
		return ok(s, cts)
	})
}

func TestExecAndRestart(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	ctx := context.Background()
	joined(t, c, "n1", fake.New())
	joined(t, c, "n2", fake.New())
	waitDeployed(t, c, 2)
	if _, err := c.Client.CreateService(ctx, "web", api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	before := map[int]api.Container{}
	waitService(t, c, "web", func(s api.Service, cts []api.Container) error {
		if s.Status.State != api.ServiceRunning {
			return fmt.Errorf("state %s", s.Status.State)
		}
		for _, ct := range cts {
			before[ct.Spec.Slot] = ct
		}
		return nil
	})

	// exec: output and exit code come back; a command is required.
	res, err := c.Client.Exec(ctx, "web-1", []string{"echo", "hi"})
	if err != nil || res.ExitCode != 0 || res.Output != "echo hi\n" {
		t.Fatalf("exec: %+v %v", res, err)
	}
	if res, err := c.Client.Exec(ctx, "web-2", []string{"exit", "3"}); err != nil || res.ExitCode != 3 {
		t.Fatalf("exec exit 3: %+v %v", res, err)
	}
	var ce *client.Error
	if _, err := c.Client.Exec(ctx, "web-1", nil); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
		t.Fatalf("exec without a command: %v", err)
	}

	// restart: one slot at a time, each a new container on its node.
	if _, err := c.Client.RestartService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	least := 3
	waitService(t, c, "web", func(s api.Service, cts []api.Container) error {
		live := 0
		for _, ct := range cts {
			if ct.Spec.Desired == api.ContainerRunning && ct.Status.State == api.ContainerRunning {
				live++
			}
		}
		least = min(least, live)
		if s.Status.State != api.ServiceRunning || len(cts) != 3 {
			return fmt.Errorf("state %s, %d containers", s.Status.State, len(cts))
		}
		for _, ct := range cts {
			old := before[ct.Spec.Slot]
			if ct.ID == old.ID || ct.Spec.Generation != 1 || ct.Spec.Node != old.Spec.Node || ct.Status.State != api.ContainerRunning {
				return fmt.Errorf("slot %d: %s gen %d on %s (was %s on %s)", ct.Spec.Slot, ct.ID, ct.Spec.Generation, ct.Spec.Node, old.ID, old.Spec.Node)
			}
		}
		return nil
	})
	t.Logf("3 containers restarted one at a time in %v", time.Since(started).Round(time.Millisecond))
	if least < 2 {
		t.Errorf("%d running at the low point, want at least 2 (one slot at a time)", least)
	}
	acts, err := c.Client.Actions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range acts {
		found = found || (strings.HasSuffix(a.Path, "/restart") && a.Result == "Success")
	}
	if !found {
		t.Error("no action recorded for the restart")
	}
}

// Autorestart OFF leaves exited containers stopped; ALWAYS restarts them
// with backoff; autodestroy empties the slot until a restart.
func TestRestartPoliciesAndAutodestroy(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	ctx := context.Background()
	joined(t, c, "n1", fake.New())
	waitDeployed(t, c, 1)
	exits := map[string]string{fake.EnvRunFor: "200ms", fake.EnvExitCode: "3"}
	mk := func(name string, spec api.ServiceSpec) {
		spec.Command, spec.Driver, spec.Replicas = []string{"job"}, "fake", 1
		if _, err := c.Client.CreateService(ctx, name, spec); err != nil {
			t.Fatal(err)
		}
	}
	mk("off", api.ServiceSpec{Env: exits})
	mk("always", api.ServiceSpec{Env: exits, Autorestart: api.PolicyAlways})
	mk("destroy", api.ServiceSpec{Env: map[string]string{fake.EnvRunFor: "200ms"}, Autodestroy: api.PolicyOnSuccess})

	waitService(t, c, "always", func(s api.Service, cts []api.Container) error {
		if len(cts) != 1 || cts[0].Status.RestartCount < 2 {
			return fmt.Errorf("containers %+v", cts)
		}
		return nil
	})
	waitService(t, c, "off", func(s api.Service, cts []api.Container) error {
		if len(cts) != 1 || cts[0].Status.State != api.ContainerStopped || cts[0].Status.ExitCode == nil ||
			*cts[0].Status.ExitCode != 3 || cts[0].Status.RestartCount != 0 || s.Status.State != api.ServiceFailing || // issue 13
			s.Status.LastError != "exited with code 3" {
			return fmt.Errorf("state %s, containers %+v", s.Status.State, cts)
		}
		return nil
	})
	var first string
	waitService(t, c, "destroy", func(s api.Service, cts []api.Container) error {
		if len(cts) != 1 || !cts[0].Spec.Destroyed || cts[0].Spec.Desired != api.ContainerTerminated ||
			cts[0].Status.State != api.ContainerTerminated || s.Status.State != api.ServiceNotRunning {
			return fmt.Errorf("state %s, containers %+v", s.Status.State, cts)
		}
		first = cts[0].ID
		return nil
	})
	time.Sleep(time.Second) // the slot stays empty
	if cts, _ := c.Client.Containers(ctx, "destroy", ""); len(cts) != 1 || cts[0].ID != first {
		t.Fatalf("autodestroyed slot was filled again: %+v", cts)
	}
	if _, err := c.Client.RestartService(ctx, "destroy"); err != nil {
		t.Fatal(err)
	}
	waitService(t, c, "destroy", func(s api.Service, cts []api.Container) error {
		for _, ct := range cts {
			if ct.ID != first && ct.Spec.Generation == 1 {
				return nil
			}
		}
		return fmt.Errorf("no new run after restart: %+v", cts)
	})
}

// stop_after_disconnect: a container whose agent is cut off longer than it
// allows is stopped once; others keep running; it runs again after the
// server is back and still wants it.
func TestStopAfterDisconnect(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 30 * time.Second})
	ctx := context.Background()
	d := fake.New()
	joined(t, c, "n1", d)
	waitDeployed(t, c, 1)
	for _, s := range []struct {
		name string
		secs int
	}{{"cut", 1}, {"keep", 0}} {
		if _, err := c.Client.CreateService(ctx, s.name, api.ServiceSpec{Command: []string{"serve"}, Driver: "fake", Replicas: 1, StopAfterDisconnect: s.secs}); err != nil {
			t.Fatal(err)
		}
		waitService(t, c, s.name, func(sv api.Service, _ []api.Container) error {
			if sv.Status.State != api.ServiceRunning {
				return fmt.Errorf("%s: %s", s.name, sv.Status.State)
			}
			return nil
		})
	}
	cut, err := c.Client.Container(ctx, "cut-1")
	if err != nil {
		t.Fatal(err)
	}
	keep, _ := c.Client.Container(ctx, "keep-1")
	c.StopServer()
	off := time.Now()
	Eventually(t, 10*time.Second, func() error {
		if st, err := d.Inspect(ctx, cut.ID); err != nil || st.State != runtime.StateExited {
			return fmt.Errorf("cut-1: %+v %v", st, err)
		}
		return nil
	})
	t.Logf("cut-1 stopped %v after the server went away", time.Since(off).Round(time.Millisecond))
	if st, err := d.Inspect(ctx, keep.ID); err != nil || st.State != runtime.StateRunning {
		t.Fatalf("keep-1: %+v %v", st, err)
	}
	time.Sleep(1500 * time.Millisecond) // still stopped: no restart while cut off
	if st, _ := d.Inspect(ctx, cut.ID); st.State != runtime.StateExited {
		t.Fatalf("cut-1 restarted while cut off: %+v", st)
	}
	c.startServer()
	Eventually(t, 30*time.Second, func() error {
		if st, err := d.Inspect(ctx, cut.ID); err != nil || st.State != runtime.StateRunning {
			return fmt.Errorf("cut-1: %+v %v", st, err)
		}
		return nil
	})
}

// The exec driver runs the command with the container's environment and
// working directory.
func TestExecWithTheExecDriver(t *testing.T) {
	c := Start(t, Options{HeartbeatGrace: 3 * time.Second})
	ctx := context.Background()
	d, err := execdrv.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	joined(t, c, "n1", d)
	waitDeployed(t, c, 1)
	if _, err := c.Client.CreateService(ctx, "sl", api.ServiceSpec{Command: []string{"sleep", "600"}, Env: map[string]string{"GREETING": "hi"}, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	waitService(t, c, "sl", func(s api.Service, _ []api.Container) error {
		if s.Status.State != api.ServiceRunning {
			return fmt.Errorf("state %s", s.Status.State)
		}
		return nil
	})
	res, err := c.Client.Exec(ctx, "sl-1", []string{"sh", "-c", `echo "$GREETING $WHARF_CONTAINER_NAME"; basename "$PWD"; echo oops >&2; exit 4`})
	if err != nil || res.ExitCode != 4 || res.Output != "hi sl-1\nwork\noops\n" {
		t.Fatalf("exec: %+v %v", res, err)
	}
}
