package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpOverlayServicesTalkByName is the README's tour of the overlay:
// `wharf up --overlay` (root) gives the local cluster's containers an
// address each on one bridge and names in DNS, so a web container fetches
// db by name.
func TestUpOverlayServicesTalkByName(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
			t.Fatal("the overlay needs root, and WHARF_REQUIRE_DOCKER=1")
		}
		t.Skip("the overlay needs root")
	}
	e := newEnv(t)
	data := filepath.Join(e.dir, "up")
	up := e.start("up", "up", "--overlay", "--nodes", "2", "--data-dir", data,
		"--port", fmt.Sprint(freePort(t)), "--agent-port", fmt.Sprint(freePort(t)),
		"--router-port", "0")
	waitUp(t, data)

	e.wharf("service", "create", "--detach", "--name", "db", "--", wharfBin, "hello", "--addr", ":8080")
	e.wharf("service", "create", "--detach", "--name", "web", "--replicas", "2", "--", wharfBin, "hello", "--addr", ":8080")
	var nets []struct {
		Name string `json:"name"`
		VNI  int    `json:"vni"`
	}
	if err := json.Unmarshal([]byte(e.wharf("network", "ls", "--format", "json")), &nets); err != nil || len(nets) == 0 {
		t.Fatalf("network ls: %v %+v", err, nets)
	}
	t.Cleanup(func() {
		// The cluster goes first (agents that still ran would make the
		// devices again), then any workload left, then the devices the
		// overlay leaves for containers to keep talking.
		var pids []int
		for _, svc := range []string{"db", "web"} {
			for _, c := range e.list("service", "ps", svc) {
				pids = append(pids, c.Status.PID)
			}
		}
		_ = up.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { _ = up.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = up.Process.Kill()
			<-exited
		}
		for _, pid := range pids {
			if pid > 0 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		for _, n := range nets {
			br := fmt.Sprintf("whbr%d", n.VNI)
			for exec.Command("iptables", "-w", "-D", "FORWARD", "-i", br, "-o", br, "-j", "ACCEPT").Run() == nil {
			}
			for _, dev := range []string{fmt.Sprintf("whvx%d", n.VNI), br} {
				_ = exec.Command("ip", "link", "del", dev).Run()
			}
		}
	})
	for _, svc := range []struct {
		name string
		n    int
	}{{"db", 1}, {"web", 2}} {
		// Generous: under the whole test run's load on two cores, a
		// second node's first start has taken over a minute.
		err := poll(2*time.Minute, func() error {
			running, others := 0, []string{}
			for _, c := range e.list("service", "ps", svc.name) {
				if c.State == "Running" {
					running++
				} else {
					others = append(others, fmt.Sprintf("%s %s on %q: %s", c.Name, c.State, c.Node, c.Status.Reason))
				}
			}
			if running != svc.n {
				return fmt.Errorf("%d of %d running; %s", running, svc.n, strings.Join(others, "; "))
			}
			return nil
		})
		if err != nil {
			// What the nodes said, for a start that never came.
			logs, _ := filepath.Glob(filepath.Join(data, "*.log"))
			for _, l := range logs {
				if b, rerr := os.ReadFile(l); rerr == nil {
					t.Logf("%s (last 3 KiB):\n%s", filepath.Base(l), b[max(0, len(b)-3072):])
				}
			}
			t.Fatalf("%s running: %v", svc.name, err)
		}
	}
	for _, web := range []string{"web-1", "web-2"} {
		eventually(t, 20*time.Second, web+" fetches db by name", func() error {
			out, err := e.try("container", "exec", web, "--", wharfBin, "hello", "--get", "http://db:8080/")
			if err != nil || !strings.Contains(out, "Hello from db-1") {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	}
	out := e.wharf("container", "exec", "db-1", "--", wharfBin, "hello", "--lookup", "web")
	if f := strings.Fields(out); len(f) < 3 || len(strings.Split(f[2], ",")) != 2 {
		t.Fatalf("web resolves to %q, want two addresses", out)
	}
}
