package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpRunsAServiceAndNoticesADeadAgent is the README's promise: `wharf up`
// brings a three-node cluster up, a service of the hello workload lands two
// containers per node, every container answers over HTTP, and an agent
// killed -9 makes its node Unreachable. node-1's router reaches the
// containers by the service's route.
func TestUpRunsAServiceAndNoticesADeadAgent(t *testing.T) {
	e := newEnv(t)
	data := filepath.Join(e.dir, "up")
	routerPort := freePort(t)
	upArgs := []string{"up", "--nodes", "3", "--data-dir", data,
		"--port", fmt.Sprint(freePort(t)), "--agent-port", fmt.Sprint(freePort(t)),
		"--router-port", fmt.Sprint(routerPort), "--router-tls-port", fmt.Sprint(freePort(t)),
		"--docker-port", fmt.Sprint(freePort(t))}
	up := e.start("up", upArgs...)
	waitUp(t, data)
	checkNoJoinTokenLeft(t, data, 3)

	nodes := e.list("node", "ls")
	if len(nodes) != 3 {
		t.Fatalf("node ls: %d nodes, want 3", len(nodes))
	}
	// `up` serves the Docker endpoint: eval "$(wharf docker-env)" and use it.
	if bin := "/usr/local/bin/docker"; fileExists(bin) {
		denv := evalDockerEnv(t, e)
		for _, args := range [][]string{{"version"}, {"info"}} {
			if out, err := runDockerCLI(t, bin, denv, args...); err != nil || !strings.Contains(out, "Wharf") {
				t.Errorf("docker %s through wharf up: %v\n%s", args[0], err, out)
			}
		}
	}
	e.wharf("service", "create", "--detach", "--name", "web", "--replicas", "6", "--route", "web.localhost", "--", wharfBin, "hello")

	var cts []listed
	took := eventually(t, 60*time.Second, "6 containers running", func() error {
		cts = e.list("service", "ps", "web")
		running := 0
		for _, c := range cts {
			if c.State == "Running" && c.Status.HostPort != 0 {
				running++
			}
		}
		if running != 6 {
			return fmt.Errorf("%d of 6 running", running)
		}
		return nil
	})
	t.Logf("6 containers running %s after create", took.Round(time.Millisecond))
	t.Cleanup(func() {
		// The killed agent's workloads outlive it by design; end them here.
		for _, c := range cts {
			if c.Status.PID > 0 {
				_ = syscall.Kill(-c.Status.PID, syscall.SIGKILL)
			}
		}
	})

	perNode := map[string]int{}
	for _, c := range cts {
		perNode[c.Node]++
		body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", c.Status.HostPort))
		if !strings.Contains(body, "Hello from "+c.Name) {
			t.Errorf("%s answered %q", c.Name, body)
		}
	}
	if len(perNode) != 3 {
		t.Fatalf("containers on %d nodes, want 3: %v", len(perNode), perNode)
	}
	for n, k := range perNode {
		if k != 2 {
			t.Fatalf("node %s runs %d containers, want 2: %v", n, k, perNode)
		}
	}

	// The router on node-1 (the README's curl) reaches them in turn.
	through := map[string]bool{}
	eventually(t, 20*time.Second, "the router reaches every container of web", func() error {
		body, err := getHost(fmt.Sprintf("http://127.0.0.1:%d/", routerPort), "web.localhost")
		if err != nil {
			return err
		}
		for _, c := range cts {
			if strings.Contains(body, "Hello from "+c.Name+" ") {
				through[c.Name] = true
			}
		}
		if len(through) != len(cts) {
			return fmt.Errorf("reached %d of %d containers so far", len(through), len(cts))
		}
		return nil
	})

	// Logs come from each node through its agent.
	if out := e.wharf("container", "logs", cts[0].Name); !strings.Contains(out, "hello: serving "+cts[0].Name) {
		t.Errorf("container logs %s: %q", cts[0].Name, out)
	}
	if out := e.wharf("service", "logs", "web"); strings.Count(out, "hello: serving") != 6 {
		t.Errorf("service logs web: %q", out)
	}

	// Kill one agent -9: its node goes Unreachable.
	pid := readPIDFile(t, filepath.Join(data, "node-2.pid"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took = eventually(t, 20*time.Second, "node-2 Unreachable", func() error {
		for _, n := range e.list("node", "ls") {
			if n.Name == "node-2" && n.State == "Unreachable" {
				return nil
			}
		}
		return fmt.Errorf("node-2 not Unreachable")
	})
	t.Logf("node-2 Unreachable %s after its agent was killed", took.Round(time.Millisecond))

	// Events tell the story.
	if out := e.wharf("events"); !strings.Contains(out, "Unreachable") || !strings.Contains(out, "web") {
		t.Errorf("events lack the node's Unreachable or the service:\n%s", out)
	}

	// Ctrl-C stops the cluster and the workloads of the live agents.
	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("wharf up did not stop within 60s of Ctrl-C")
	}
	for _, c := range cts {
		if perNodeName(nodes, c.Node) == "node-2" {
			continue // its agent was killed: adoption is the next issue's
		}
		if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", c.Status.HostPort)); err == nil {
			t.Errorf("%s still answers after the cluster stopped", c.Name)
		}
	}

	// Run again: the same cluster resumes, every node (node-2 too) and
	// all six containers.
	again := e.start("up-again", upArgs...)
	waitUp(t, data)
	checkNoJoinTokenLeft(t, data, 3)
	eventually(t, 30*time.Second, "the same 3 nodes Deployed", func() error {
		again := e.list("node", "ls")
		if len(again) != 3 {
			return fmt.Errorf("%d nodes", len(again))
		}
		for _, n := range again {
			if perNodeName(nodes, n.ID) == "" || n.State != "Deployed" {
				return fmt.Errorf("node %s (%s) is %s", n.Name, n.ID, n.State)
			}
		}
		return nil
	})
	cts = waitRunning(t, e, "web", 6)
	for _, c := range cts {
		if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", c.Status.HostPort)); !strings.Contains(body, "Hello from "+c.Name) {
			t.Errorf("after resume %s answered %q", c.Name, body)
		}
	}
	_ = again.Process.Signal(syscall.SIGINT)
	_, _ = again.Process.Wait()
}

// checkNoJoinTokenLeft checks that no agent of `wharf up` has its join
// token on its command line (readable by every local user in
// /proc/PID/cmdline) and that the token files were deleted once joined.
func checkNoJoinTokenLeft(t *testing.T, data string, nodes int) {
	t.Helper()
	for i := 1; i <= nodes; i++ {
		name := fmt.Sprintf("node-%d", i)
		pid := readPIDFile(t, filepath.Join(data, name+".pid"))
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Fatal(err)
		}
		if args := strings.ReplaceAll(string(cmdline), "\x00", " "); strings.Contains(args, "WHARF-1-") || strings.Contains(args, "--token ") {
			t.Errorf("%s's command line carries a join token: %s", name, args)
		}
		eventually(t, 10*time.Second, name+"'s join token file deleted", func() error {
			if _, err := os.Stat(filepath.Join(data, name+".join-token")); !os.IsNotExist(err) {
				return fmt.Errorf("still there: %v", err)
			}
			return nil
		})
	}
}

func waitUp(t *testing.T, data string) {
	t.Helper()
	eventually(t, 90*time.Second, "wharf up ready", func() error {
		_, err := os.Stat(filepath.Join(data, "up.ready"))
		return err
	})
}

func perNodeName(nodes []listed, id string) string {
	for _, n := range nodes {
		if n.ID == id {
			return n.Name
		}
	}
	return ""
}

// getHost is one GET of url with host as its Host header: the body of a
// 200, else an error.
func getHost(url, host string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s (Host %s): %s: %s", url, host, resp.Status, b)
	}
	return string(b), err
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	var last error
	for i := 0; i < 20; i++ {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}
