package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerRestartLosesNothing restarts the server twice, once with SIGTERM
// and once with SIGKILL, under agents that keep running: every write the API
// acknowledged is still there, and no container was restarted.
func TestServerRestartLosesNothing(t *testing.T) {
	e := newEnv(t)
	data := filepath.Join(e.dir, "server")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	serverArgs := []string{"server", "--data-dir", data, "--addr", apiAddr,
		"--agent-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--advertise", "127.0.0.1"}
	server := e.start("server", serverArgs...)
	e.extra = []string{"WHARF_ADDR=https://" + apiAddr, "WHARF_CACERT=" + filepath.Join(data, "ca.crt")}
	waitReady(t, e, data)

	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	for i := 1; i <= 2; i++ {
		name := fmt.Sprintf("n%d", i)
		e.start(name, "agent", "--server", "https://"+apiAddr, "--token", join, "--name", name,
			"--data-dir", filepath.Join(e.dir, name), "--enable-exec", "--heartbeat", "1s")
	}
	e.wharf("service", "create", "--detach", "--name", "keep", "--replicas", "4", "--", wharfBin, "hello")
	before := waitRunning(t, e, "keep", 4)
	t.Cleanup(func() {
		for _, c := range before {
			_ = syscall.Kill(-c.Status.PID, syscall.SIGKILL)
		}
	})

	acked := 0
	write := func(n int) {
		for i := 0; i < n; i++ {
			e.wharf("service", "create", "--detach", "--name", fmt.Sprintf("acked-%d", acked), "--replicas", "0", "--", "true")
			acked++
		}
	}
	restart := func(sig syscall.Signal) {
		if err := server.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if _, err := server.Process.Wait(); err != nil {
			t.Fatal(err)
		}
		server = e.start(fmt.Sprintf("server-after-%s", strings.ReplaceAll(sig.String(), " ", "-")), serverArgs...)
		waitReady(t, e, data)
	}

	write(10)
	restart(syscall.SIGTERM)
	write(10)
	restart(syscall.SIGKILL)

	names := map[string]bool{}
	for _, s := range e.list("service", "ls") {
		names[s.Name] = true
	}
	for i := 0; i < acked; i++ {
		if !names[fmt.Sprintf("acked-%d", i)] {
			t.Errorf("acknowledged service acked-%d lost across restarts", i)
		}
	}
	eventually(t, 30*time.Second, "nodes back", func() error {
		for _, n := range e.list("node", "ls") {
			if n.State != "Deployed" {
				return fmt.Errorf("node %s is %s", n.Name, n.State)
			}
		}
		return nil
	})
	after := waitRunning(t, e, "keep", 4)
	for _, b := range before {
		found := false
		for _, a := range after {
			if a.ID == b.ID {
				found = true
				if a.Status.PID != b.Status.PID || !a.Status.StartedAt.Equal(b.Status.StartedAt) {
					t.Errorf("%s restarted: pid %d -> %d, started %s -> %s", b.Name, b.Status.PID, a.Status.PID, b.Status.StartedAt, a.Status.StartedAt)
				}
			}
		}
		if !found {
			t.Errorf("container %s (%s) is gone", b.Name, b.ID)
		}
		if syscall.Kill(b.Status.PID, 0) != nil {
			t.Errorf("process %d of %s died", b.Status.PID, b.Name)
		}
	}
}

func waitReady(t *testing.T, e *env, data string) {
	t.Helper()
	eventually(t, 60*time.Second, "server ready", func() error {
		tok, err := os.ReadFile(filepath.Join(data, "admin-token"))
		if err != nil {
			return err
		}
		e.setToken(strings.TrimSpace(string(tok)))
		_, err = e.try("node", "ls")
		return err
	})
}

func (e *env) setToken(tok string) {
	kept := e.extra[:0]
	for _, kv := range e.extra {
		if !strings.HasPrefix(kv, "WHARF_TOKEN=") {
			kept = append(kept, kv)
		}
	}
	e.extra = append(kept, "WHARF_TOKEN="+tok)
}

func waitRunning(t *testing.T, e *env, service string, n int) []listed {
	t.Helper()
	var cts []listed
	eventually(t, 60*time.Second, fmt.Sprintf("%d containers of %s running", n, service), func() error {
		cts = e.list("service", "ps", service)
		running := 0
		for _, c := range cts {
			if c.State == "Running" && c.Status.PID > 0 {
				running++
			}
		}
		if running != n {
			return fmt.Errorf("%d of %d running", running, n)
		}
		return nil
	})
	return cts
}
