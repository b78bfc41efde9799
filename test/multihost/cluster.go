package multihost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a Wharf server and its agents, each in a container of the
// image, on a private Docker network of their own.
type Cluster struct {
	t       testing.TB
	build   *Build
	Network string
	Server  string   // the server container's name, also its host name
	Agents  []string // the agent containers' names, node-1 first
	APIAddr string   // https://127.0.0.1:<published port>
	dir     string   // CA certificate and the CLI's config dir
	token   string
}

// StartCluster starts a server and n agents and waits until every node is
// Deployed. Everything it creates is removed in t.Cleanup, after the
// containers' logs are printed if t failed.
func StartCluster(t testing.TB, b *Build, n int) *Cluster {
	t.Helper()
	return StartClusterWith(t, b, Options{Agents: n})
}

// StartClusterWith is StartCluster with the extra settings of o.
func StartClusterWith(t testing.TB, b *Build, o Options) *Cluster {
	t.Helper()
	n := o.Agents
	var id [4]byte
	_, _ = rand.Read(id[:])
	prefix := "wharf-mh-" + hex.EncodeToString(id[:])
	c := &Cluster{t: t, build: b, Network: prefix, Server: prefix + "-server", dir: t.TempDir()}
	for i := 1; i <= n; i++ {
		c.Agents = append(c.Agents, fmt.Sprintf("%s-node-%d", prefix, i))
	}
	t.Cleanup(c.cleanup)

	c.docker("network", "create", "--label", "wharf-mh="+prefix, c.Network)
	c.docker(slices.Concat([]string{"run", "-d", "--name", c.Server, "--hostname", c.Server, "--network", c.Network,
		"--label", "wharf-mh=" + prefix, "-p", "127.0.0.1::7443"}, o.serverDocker(),
		[]string{b.Image, "/wharf", "server", "--data-dir", "/data", "--addr", ":7443", "--agent-addr", ":7444",
			"--advertise", c.Server}, o.serverArgs(c))...)
	c.readAPIAddr()
	start := time.Now()
	Eventually(t, 60*time.Second, "server writes its CA and admin token", func() error {
		for _, f := range []string{"ca.crt", "admin-token"} {
			if _, err := Docker("cp", c.Server+":/data/"+f, filepath.Join(c.dir, f)); err != nil {
				return err
			}
		}
		tok, err := os.ReadFile(filepath.Join(c.dir, "admin-token"))
		c.token = strings.TrimSpace(string(tok))
		return err
	})
	c.WaitAPI(60 * time.Second)
	t.Logf("server %s answers on %s after %s", c.Server, c.APIAddr, time.Since(start).Round(time.Millisecond))

	o.beforeAgents(c)
	join := strings.TrimSpace(c.Wharf("node", "join-token", "-q"))
	for i, name := range c.Agents {
		c.docker(slices.Concat([]string{"run", "-d", "--name", name, "--hostname", name, "--network", c.Network,
			"--label", "wharf-mh=" + prefix}, o.AgentDocker, []string{b.Image,
			"/nodeinit", "--", "/wharf", "agent", "--server", "https://" + c.Server + ":7443", "--token", join,
			"--enable-exec", "--name", fmt.Sprintf("node-%d", i+1), "--data-dir", "/var/lib/wharf"}, o.AgentArgs)...)
	}
	d := Eventually(t, 60*time.Second, "every node Deployed", func() error {
		nodes, err := c.Nodes()
		if err != nil {
			return err
		}
		if len(nodes) != n {
			return fmt.Errorf("%d nodes, want %d", len(nodes), n)
		}
		return allDeployed(nodes, time.Time{})
	})
	t.Logf("%d agents Deployed after %s", n, d.Round(time.Millisecond))
	return c
}

// docker runs a docker command and fails the test if it fails.
func (c *Cluster) docker(args ...string) string {
	c.t.Helper()
	out, err := Docker(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *Cluster) cleanup() {
	if c.t.Failed() {
		for _, name := range append([]string{c.Server}, c.Agents...) {
			c.t.Logf("docker logs %s:\n%s", name, tail(dockerLogs(name), 60))
		}
	}
	for _, name := range append([]string{c.Server}, c.Agents...) {
		if _, err := Docker("rm", "-f", "-v", name); err != nil && !strings.Contains(err.Error(), "No such container") {
			c.t.Errorf("cleanup: %v", err)
		}
	}
	if _, err := Docker("network", "rm", c.Network); err != nil && !strings.Contains(err.Error(), "not found") {
		c.t.Errorf("cleanup: %v", err)
	}
}

// environ is the CLI's environment: this cluster's address, CA and admin
// token, a config dir of its own and no other WHARF_ setting.
func (c *Cluster) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHARF_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "XDG_CONFIG_HOME="+filepath.Join(c.dir, "config"), "WHARF_ADDR="+c.APIAddr,
		"WHARF_CACERT="+filepath.Join(c.dir, "ca.crt"), "WHARF_TOKEN="+c.token)
}

// Try runs one CLI command on the host against the cluster.
func (c *Cluster) Try(args ...string) (string, error) {
	return run(20*time.Second, c.environ(), c.build.Wharf, args...)
}

// Wharf is Try that fails the test on error.
func (c *Cluster) Wharf(args ...string) string {
	c.t.Helper()
	out, err := c.Try(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// list runs a list command with --format json into out.
func (c *Cluster) list(out any, args ...string) error {
	s, err := c.Try(append(args, "--format", "json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		return fmt.Errorf("wharf %s --format json: %w", strings.Join(args, " "), err)
	}
	return nil
}

// WaitAPI waits until the API answers an authenticated request and
// returns how long that took.
func (c *Cluster) WaitAPI(timeout time.Duration) time.Duration {
	c.t.Helper()
	return Eventually(c.t, timeout, "API answers", func() error {
		_, err := c.Try("node", "ls", "-q")
		return err
	})
}

// Node is the part of `wharf node ls --format json` the tests read.
type Node struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	State    string    `json:"state"`
	LastSeen time.Time `json:"last_seen"`
}

// Nodes lists the nodes.
func (c *Cluster) Nodes() ([]Node, error) {
	var nodes []Node
	return nodes, c.list(&nodes, "node", "ls")
}

// allDeployed returns nil if every node is Deployed and was last seen
// (connected) after since.
func allDeployed(nodes []Node, since time.Time) error {
	for _, n := range nodes {
		if n.State != "Deployed" {
			return fmt.Errorf("node %s is %s", n.Name, n.State)
		}
		if n.LastSeen.Before(since) {
			return fmt.Errorf("node %s not connected since %s (last seen %s)", n.Name, since.Format(time.StampMilli), n.LastSeen.Format(time.StampMilli))
		}
	}
	return nil
}

// Container is the part of `wharf service ps --format json` the tests read.
type Container struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Node   string `json:"node"` // node ID
	Status struct {
		PID          int       `json:"pid"`
		StartedAt    time.Time `json:"started_at"`
		RestartCount int       `json:"restart_count"`
	} `json:"status"`
}

// Containers lists a service's containers.
func (c *Cluster) Containers(service string) ([]Container, error) {
	var cts []Container
	return cts, c.list(&cts, "service", "ps", service)
}

// WaitRunning waits until n containers of service run and returns them.
func (c *Cluster) WaitRunning(service string, n int, timeout time.Duration) []Container {
	c.t.Helper()
	var cts []Container
	Eventually(c.t, timeout, fmt.Sprintf("%d containers of %s running", n, service), func() error {
		var err error
		if cts, err = c.Containers(service); err != nil {
			return err
		}
		running := 0
		for _, ct := range cts {
			if ct.State == "Running" && ct.Status.PID > 0 {
				running++
			}
		}
		if running != n || len(cts) != n {
			return fmt.Errorf("%d of %d running (%d listed)", running, n, len(cts))
		}
		return nil
	})
	return cts
}

// Proc is one process of a container as `docker top` shows it.
type Proc struct {
	PID   int    // in the host's PID namespace
	State string // ps STAT: Z for a zombie
	Args  string
}

// Top lists the processes of a container.
func (c *Cluster) Top(container string) ([]Proc, error) {
	out, err := Docker("top", container, "-o", "pid,stat,args")
	if err != nil {
		return nil, err
	}
	var procs []Proc
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("docker top %s: line %q", container, line)
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("docker top %s: line %q", container, line)
		}
		procs = append(procs, Proc{PID: pid, State: f[1], Args: strings.Join(f[2:], " ")})
	}
	return procs, nil
}

// Zombies returns the processes of a container that exited and that no one
// reaped.
func (c *Cluster) Zombies(container string) ([]Proc, error) {
	procs, err := c.Top(container)
	return slices.DeleteFunc(procs, func(p Proc) bool { return !strings.HasPrefix(p.State, "Z") }), err
}

// Workloads returns the host PIDs of the hello workloads and of the agent
// in a container, from `docker top`.
func (c *Cluster) Workloads(container string) (hello []int, agent int, err error) {
	procs, err := c.Top(container)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range procs {
		if strings.HasPrefix(p.State, "Z") {
			continue
		}
		switch {
		case strings.HasPrefix(p.Args, "/wharf hello"):
			hello = append(hello, p.PID)
		case strings.HasPrefix(p.Args, "/wharf agent"):
			agent = p.PID
		}
	}
	slices.Sort(hello)
	return hello, agent, nil
}

// dockerLogs returns a container's stdout and stderr, interleaved.
func dockerLogs(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s\ndocker logs %s: %v", out, name, err)
	}
	return string(out)
}

// RestartServer restarts the server container (SIGTERM, then SIGKILL after
// 10 s) and reads its published port again, which Docker may change.
func (c *Cluster) RestartServer() {
	c.t.Helper()
	c.docker("restart", "-t", "10", c.Server)
	c.readAPIAddr()
}

// readAPIAddr sets APIAddr from the server's published API port.
func (c *Cluster) readAPIAddr() {
	c.t.Helper()
	out := c.docker("port", c.Server, "7443/tcp")
	_, port, err := net.SplitHostPort(strings.Split(out, "\n")[0])
	if err != nil {
		c.t.Fatalf("docker port %s: %q: %v", c.Server, out, err)
	}
	c.APIAddr = "https://127.0.0.1:" + port
}
