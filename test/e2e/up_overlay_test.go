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
	e.start("up", "up", "--overlay", "--nodes", "2", "--data-dir", data,
		"--port", fmt.Sprint(freePort(t)), "--agent-port", fmt.Sprint(freePort(t)))
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
		// The overlay leaves its devices for containers to keep talking;
		// the test's go with it.
		for _, n := range nets {
			br := fmt.Sprintf("whbr%d", n.VNI)
			_ = exec.Command("iptables", "-w", "-D", "FORWARD", "-i", br, "-o", br, "-j", "ACCEPT").Run()
			for _, dev := range []string{fmt.Sprintf("whvx%d", n.VNI), fmt.Sprintf("whbr%d", n.VNI)} {
				_ = exec.Command("ip", "link", "del", dev).Run()
			}
		}
	})
	for _, svc := range []struct {
		name string
		n    int
	}{{"db", 1}, {"web", 2}} {
		eventually(t, 60*time.Second, svc.name+" running", func() error {
			running := 0
			for _, c := range e.list("service", "ps", svc.name) {
				if c.State == "Running" {
					running++
				}
			}
			if running != svc.n {
				return fmt.Errorf("%d of %d running", running, svc.n)
			}
			return nil
		})
	}
	t.Cleanup(func() {
		// As TestUpRunsAServiceAndNoticesADeadAgent: end the workloads
		// here, so that none still writes its run's directory while the
		// test's temporary directory is removed.
		for _, svc := range []string{"db", "web"} {
			for _, c := range e.list("service", "ps", svc) {
				if c.Status.PID > 0 {
					_ = syscall.Kill(-c.Status.PID, syscall.SIGKILL)
				}
			}
		}
	})
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
