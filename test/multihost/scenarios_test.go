package multihost

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// build is the image and host binary every test shares; buildErr is why
// there is none although Docker answers.
var (
	build    *Build
	buildErr error
)

func TestMain(m *testing.M) {
	if DockerAvailable() == nil {
		start := time.Now()
		build, buildErr = BuildImage()
		if buildErr == nil {
			fmt.Fprintf(os.Stderr, "multihost: built %s in %s\n", build.Image, time.Since(start).Round(time.Millisecond))
		}
	}
	code := m.Run()
	if build != nil {
		_ = build.Close()
	}
	os.Exit(code)
}

// setup skips or fails t without Docker, then starts a cluster of three
// agents running service "hello" (`/wharf hello`) with the given replicas.
func setup(t *testing.T, replicas int) (*Cluster, []Container) {
	t.Helper()
	RequireDocker(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	c := StartCluster(t, build, 3)
	c.Wharf("service", "create", "--detach", "--name", "hello", "--replicas", fmt.Sprint(replicas), "--", "/wharf", "hello")
	start := time.Now()
	cts := c.WaitRunning("hello", replicas, 60*time.Second)
	t.Logf("%d hello containers running after %s", replicas, time.Since(start).Round(time.Millisecond))
	return c, cts
}

// nodeID returns the ID of the node named name.
func nodeID(t *testing.T, c *Cluster, name string) string {
	t.Helper()
	nodes, err := c.Nodes()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == name {
			return n.ID
		}
	}
	t.Fatalf("no node %s in %v", name, nodes)
	return ""
}

// topSnapshot maps each agent container to the host PIDs of its hello
// workloads, and checks that they match what the CLI lists per node.
func topSnapshot(t *testing.T, c *Cluster, cts []Container) map[string][]int {
	t.Helper()
	perNode := map[string]int{}
	for _, ct := range cts {
		perNode[ct.Node]++
	}
	snap := map[string][]int{}
	for i, name := range c.Agents {
		hello, agent, err := c.Workloads(name)
		if err != nil {
			t.Fatal(err)
		}
		if agent == 0 {
			t.Errorf("docker top %s: no agent process", name)
		}
		if want := perNode[nodeID(t, c, fmt.Sprintf("node-%d", i+1))]; len(hello) != want {
			t.Errorf("docker top %s: %d hello processes, the CLI lists %d containers on its node", name, len(hello), want)
		}
		snap[name] = hello
	}
	return snap
}

// unchanged reports every container of before that is gone, not running,
// or was restarted (other pid, started_at or restart count) in after.
func unchanged(t *testing.T, before, after []Container) {
	t.Helper()
	for _, b := range before {
		i := slices.IndexFunc(after, func(a Container) bool { return a.ID == b.ID })
		if i < 0 {
			t.Errorf("container %s (%s) is gone", b.Name, b.ID)
			continue
		}
		a := after[i]
		if a.State != "Running" || a.Node != b.Node || a.Status.PID != b.Status.PID ||
			!a.Status.StartedAt.Equal(b.Status.StartedAt) || a.Status.RestartCount != b.Status.RestartCount {
			t.Errorf("container %s restarted or moved: state %s, node %s -> %s, pid %d -> %d, started %s -> %s, restarts %d -> %d",
				b.Name, a.State, b.Node, a.Node, b.Status.PID, a.Status.PID,
				b.Status.StartedAt.Format(time.StampMilli), a.Status.StartedAt.Format(time.StampMilli),
				b.Status.RestartCount, a.Status.RestartCount)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d containers, was %d", len(after), len(before))
	}
}

// sameTop checks that every agent container still runs exactly the hello
// processes (host PIDs) it ran before.
func sameTop(t *testing.T, c *Cluster, before map[string][]int) {
	t.Helper()
	for _, name := range c.Agents {
		hello, _, err := c.Workloads(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(hello, before[name]) {
			t.Errorf("docker top %s: hello pids %v, were %v", name, hello, before[name])
		}
	}
}

// TestAgentContainerKilled kills one agent's container: its node turns
// Unreachable within 20 s (heartbeat grace 8 s), the other nodes' workloads
// are untouched, and once the container is started again the node is
// Deployed and the service runs all its replicas again.
func TestAgentContainerKilled(t *testing.T) {
	c, before := setup(t, 6)
	victim, id := c.Agents[0], nodeID(t, c, "node-1")
	c.docker("kill", victim)
	notDeployed := map[string]string{}
	d := Eventually(t, 20*time.Second, "node-1 Unreachable", func() error {
		nodes, err := c.Nodes()
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.ID == id && n.State != "Unreachable" {
				return fmt.Errorf("node-1 is %s", n.State)
			}
			if n.ID != id && n.State != "Deployed" {
				notDeployed[n.Name] = n.State
			}
		}
		return nil
	})
	t.Logf("node-1 Unreachable %s after docker kill", d.Round(time.Millisecond))
	for name, state := range notDeployed {
		t.Errorf("node %s was %s while only node-1 was killed", name, state)
	}

	started := time.Now()
	c.docker("start", victim)
	d = Eventually(t, 30*time.Second, "node-1 Deployed again", func() error {
		nodes, err := c.Nodes()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(nodes, func(n Node) bool { return n.ID == id })
		if i < 0 {
			return fmt.Errorf("node-1 (%s) is not listed", id)
		}
		return allDeployed(nodes[i:i+1], started)
	})
	t.Logf("node-1 Deployed %s after docker start", d.Round(time.Millisecond))
	after := c.WaitRunning("hello", 6, 60*time.Second)
	t.Logf("all 6 hello containers running %s after docker start", time.Since(started).Round(time.Millisecond))

	var others, othersAfter []Container
	for _, ct := range before {
		if ct.Node != id {
			others = append(others, ct)
		}
	}
	for _, ct := range after {
		if slices.ContainsFunc(others, func(o Container) bool { return o.ID == ct.ID }) {
			othersAfter = append(othersAfter, ct)
		}
	}
	if len(others) == len(before) {
		t.Fatalf("no container was on node-1: %+v", before)
	}
	unchanged(t, others, othersAfter)
	topSnapshot(t, c, after)
}

// TestAgentRestartsKeepWorkloads restarts every agent ten times (SIGKILL by
// nodeinit on SIGUSR1): the nodes come back Deployed within seconds and not
// one workload process is restarted.
func TestAgentRestartsKeepWorkloads(t *testing.T) {
	c, before := setup(t, 6)
	top := topSnapshot(t, c, before)
	var worst time.Duration
	for round := 1; round <= 10; round++ {
		agents := map[string]int{}
		for _, name := range c.Agents {
			_, pid, err := c.Workloads(name)
			if err != nil || pid == 0 {
				t.Fatalf("round %d: agent of %s: pid %d, %v", round, name, pid, err)
			}
			agents[name] = pid
		}
		start := time.Now()
		for _, name := range c.Agents {
			c.docker("kill", "--signal", "USR1", name)
		}
		d := Eventually(t, 10*time.Second, fmt.Sprintf("round %d: every agent restarted and connected", round), func() error {
			for _, name := range c.Agents {
				_, pid, err := c.Workloads(name)
				if err != nil {
					return err
				}
				if pid == 0 || pid == agents[name] {
					return fmt.Errorf("%s: agent not restarted yet (pid %d, was %d)", name, pid, agents[name])
				}
			}
			nodes, err := c.Nodes()
			if err != nil {
				return err
			}
			return allDeployed(nodes, start)
		})
		worst = max(worst, d)
		t.Logf("round %d: agents restarted and nodes Deployed after %s", round, d.Round(time.Millisecond))
	}
	t.Logf("ten agent restarts: worst %s", worst.Round(time.Millisecond))

	after, err := c.Containers("hello")
	if err != nil {
		t.Fatal(err)
	}
	unchanged(t, before, after)
	sameTop(t, c, top)

	// The workloads are now orphans, children of nodeinit: the agents can
	// still stop them, and nodeinit reaps them (and the ten killed agents).
	start := time.Now()
	c.Wharf("service", "scale", "--detach", "hello", "3")
	Eventually(t, 30*time.Second, "hello scaled down to 3, the others' processes gone", func() error {
		cts, err := c.Containers("hello")
		if err != nil {
			return err
		}
		if len(cts) != 3 {
			return fmt.Errorf("%d containers listed", len(cts))
		}
		n := 0
		for _, name := range c.Agents {
			hello, _, err := c.Workloads(name)
			if err != nil {
				return err
			}
			n += len(hello)
		}
		if n != 3 {
			return fmt.Errorf("docker top shows %d hello processes", n)
		}
		return nil
	})
	t.Logf("scaled down to 3 after %s", time.Since(start).Round(time.Millisecond))
	for _, name := range c.Agents {
		if z, err := c.Zombies(name); err != nil || len(z) > 0 {
			t.Errorf("%s: zombies %+v, %v", name, z, err)
		}
	}
}

// TestServerRestartsKeepWorkloads restarts the server container ten times:
// every agent is back (its node Deployed and connected again) within 10 s of
// the server answering, and not one workload process is restarted.
func TestServerRestartsKeepWorkloads(t *testing.T) {
	c, before := setup(t, 3)
	top := topSnapshot(t, c, before)
	var worst, worstDown time.Duration
	for round := 1; round <= 10; round++ {
		start := time.Now()
		c.RestartServer()
		c.WaitAPI(60 * time.Second)
		down := time.Since(start)
		d := Eventually(t, 10*time.Second, fmt.Sprintf("round %d: every agent back", round), func() error {
			nodes, err := c.Nodes()
			if err != nil {
				return err
			}
			return allDeployed(nodes, start)
		})
		worst, worstDown = max(worst, d), max(worstDown, down)
		t.Logf("round %d: server answering %s after docker restart began, agents back %s later",
			round, down.Round(time.Millisecond), d.Round(time.Millisecond))
	}
	t.Logf("ten server restarts: agents back at worst %s after the server answered (server back at worst %s)",
		worst.Round(time.Millisecond), worstDown.Round(time.Millisecond))

	after := c.WaitRunning("hello", 3, 10*time.Second)
	unchanged(t, before, after)
	sameTop(t, c, top)
}
