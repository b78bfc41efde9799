package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/exec"
	"github.com/wharfhq/wharf/internal/store"
)

// TestExecDriver runs a real process through an agent with the exec driver
// and reads its logs through the gateway.
func TestExecDriver(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	drv, err := exec.New(filepath.Join(dir, "exec"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{
		ServerURL: e.api.URL, JoinToken: e.token, DataDir: dir, Drivers: []runtime.Driver{drv},
		HeartbeatInterval: 200 * time.Millisecond, Hostname: "host-exec", Logger: e.log,
		StopContainersOnExit: true, // no process outlives the test
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	p := &agentProc{a: a, done: done}
	id := waitAgentID(t, p)
	e.waitNodeState(id, api.NodeDeployed, 10*time.Second)
	if n := e.node(id); len(n.Drivers) != 1 || n.Drivers[0] != "exec" {
		t.Fatalf("drivers %v", n.Drivers)
	}

	c := &api.Container{
		Meta: api.Meta{ID: "e1", Name: "sh-1"},
		Spec: api.ContainerSpec{Service: "sh", Slot: 1, Node: id, Command: []string{"sh", "-c", "echo hi from $WHARF_CONTAINER_NAME; exec sleep 600"},
			Desired: api.ContainerRunning},
	}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	running := e.waitContainerState("e1", api.ContainerRunning)
	if running.Status.PID == 0 {
		t.Fatalf("status %+v", running.Status)
	}
	eventually(t, 5*time.Second, "logs", func() error {
		var buf bytes.Buffer
		if err := e.gw.Load().ContainerLogs(e.ctx, &running, false, 0, &buf); err != nil {
			return err
		}
		if !strings.Contains(buf.String(), "hi from sh-1") {
			return fmt.Errorf("logs %q", buf.String())
		}
		return nil
	})

	setDesired(t, e, "e1", api.ContainerTerminated)
	e.waitContainerState("e1", api.ContainerTerminated)
	if _, err := drv.Inspect(e.ctx, "e1"); err == nil {
		t.Fatal("e1 still known to the exec driver")
	}
}
