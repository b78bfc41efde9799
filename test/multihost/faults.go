package multihost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/api"
)

// This file holds the fault injectors: kill, pause, restart and cut off
// any container of the cluster, and the inspection they need.

// KillContainer SIGKILLs a container's main process (`docker kill`): for
// the server that is `wharf server`, for an agent nodeinit, which takes the
// agent and its workloads with it.
func (c *Cluster) KillContainer(name string) {
	c.t.Helper()
	c.docker("kill", name)
}

// StartContainer starts a stopped container again; for the server it reads
// the published API port again, which Docker may change.
func (c *Cluster) StartContainer(name string) {
	c.t.Helper()
	c.docker("start", name)
	if name == c.Server {
		c.readAPIAddr()
	}
}

// RestartContainer restarts a container (SIGTERM, SIGKILL after 10 s).
func (c *Cluster) RestartContainer(name string) {
	c.t.Helper()
	if name == c.Server {
		c.RestartServer()
		return
	}
	c.docker("restart", "-t", "10", name)
}

// Pause freezes every process of a container (`docker pause`).
func (c *Cluster) Pause(name string) {
	c.t.Helper()
	c.docker("pause", name)
}

// Unpause thaws a paused container.
func (c *Cluster) Unpause(name string) {
	c.t.Helper()
	c.docker("unpause", name)
}

// KillAgent SIGKILLs the agent process of an agent container, by its host
// PID; nodeinit starts it again and the workloads keep running. It returns
// the PID it killed. Without the right to signal it (the test is not root)
// it asks nodeinit to do it (SIGUSR1).
func (c *Cluster) KillAgent(name string) int {
	c.t.Helper()
	_, pid, err := c.Workloads(name)
	if err != nil {
		c.t.Fatal(err)
	}
	if pid == 0 {
		c.t.Fatalf("%s: no agent process to kill", name)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		if !errors.Is(err, syscall.EPERM) {
			c.t.Fatalf("kill -9 %d (agent of %s): %v", pid, name, err)
		}
		c.docker("kill", "--signal", "USR1", name)
	}
	return pid
}

// MainPID returns the host PID of a container's main process.
func (c *Cluster) MainPID(name string) (int, error) {
	out, err := Docker("inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s is not running (pid %q)", name, out)
	}
	return pid, nil
}

// IP returns a container's address on the cluster's network.
func (c *Cluster) IP(name string) (string, error) {
	out, err := Docker("inspect", "--format", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", c.Network), name)
	if err == nil && out == "" {
		err = fmt.Errorf("%s has no address on %s", name, c.Network)
	}
	return out, err
}

// GatewayIP returns the host's address on the cluster's network: what the
// containers dial to reach a listener of the test process.
func (c *Cluster) GatewayIP() (string, error) {
	out, err := Docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}", c.Network)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return "", fmt.Errorf("network %s has no gateway", c.Network)
	}
	return f[0], nil
}

// cutRules are the iptables rules that cut a container off its network:
// everything in or out of eth0 is dropped (loopback, and so Docker's DNS,
// still works). Dropping, not rejecting, is what a lost link looks like.
var cutRules = [][]string{
	{"INPUT", "-i", "eth0", "-j", "DROP"},
	{"OUTPUT", "-o", "eth0", "-j", "DROP"},
}

// CutOff drops every packet to and from a container on its network, with
// iptables in the container's network namespace. Heal undoes it.
func (c *Cluster) CutOff(name string) {
	c.t.Helper()
	for _, r := range cutRules {
		if err := c.iptables(name, append([]string{"-I"}, r...)...); err != nil {
			c.t.Fatal(err)
		}
	}
}

// Heal removes what CutOff added.
func (c *Cluster) Heal(name string) {
	c.t.Helper()
	for _, r := range cutRules {
		if err := c.iptables(name, append([]string{"-D"}, r...)...); err != nil {
			c.t.Fatal(err)
		}
	}
}

// iptables runs iptables in a container's network namespace.
func (c *Cluster) iptables(name string, args ...string) error {
	pid, err := c.MainPID(name)
	if err != nil {
		return err
	}
	_, err = run(dockerTimeout, nil, "nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "iptables", "-w"}, args...)...)
	return err
}

// Workload is one Wharf workload process found in an agent container,
// identified by the environment its driver gave it.
type Workload struct {
	PID         int    // host PID
	ContainerID string // WHARF_CONTAINER_ID
	Name        string // WHARF_CONTAINER_NAME: <service>-<slot>
	Node        string // WHARF_NODE: the node ID the agent started it for
}

// AgentWorkloads asks an agent container what it runs: every live process
// in it that carries WHARF_CONTAINER_ID, read from /proc on the host (the
// test shares the host's PID namespace with Docker).
func (c *Cluster) AgentWorkloads(name string) ([]Workload, error) {
	procs, err := c.Top(name)
	if err != nil {
		return nil, err
	}
	var ws []Workload
	for _, p := range procs {
		if strings.HasPrefix(p.State, "Z") {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
				continue // exited since docker top
			}
			return nil, fmt.Errorf("%s: environment of pid %d: %w", name, p.PID, err)
		}
		w := Workload{PID: p.PID}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			k, v, _ := strings.Cut(string(kv), "=")
			switch k {
			case "WHARF_CONTAINER_ID":
				w.ContainerID = v
			case "WHARF_CONTAINER_NAME":
				w.Name = v
			case "WHARF_NODE":
				w.Node = v
			}
		}
		if w.ContainerID != "" {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b Workload) int { return strings.Compare(a.Name, b.Name) })
	return ws, nil
}

// AllWorkloads asks every agent container of the cluster what it runs,
// keyed by container name. A container that is not running has none.
func (c *Cluster) AllWorkloads() (map[string][]Workload, error) {
	all := map[string][]Workload{}
	for _, name := range c.Agents {
		if _, err := c.MainPID(name); err != nil {
			all[name] = nil
			continue
		}
		ws, err := c.AgentWorkloads(name)
		if err != nil {
			return nil, err
		}
		all[name] = ws
	}
	return all, nil
}

// AllContainers lists every container the store holds, of every service.
func (c *Cluster) AllContainers() ([]api.Container, error) {
	var cts []api.Container
	return cts, c.list(&cts, "container", "ls")
}

// NodeIDs maps each agent container's name to its node's ID (node-i is
// the i-th agent container).
func (c *Cluster) NodeIDs() (map[string]string, error) {
	nodes, err := c.Nodes()
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for i, name := range c.Agents {
		want := fmt.Sprintf("node-%d", i+1)
		for _, n := range nodes {
			if n.Name == want {
				ids[name] = n.ID
			}
		}
		if ids[name] == "" {
			return nil, fmt.Errorf("no node %s (container %s) among %d nodes", want, name, len(nodes))
		}
	}
	return ids, nil
}

// Logs returns what a container wrote to stdout and stderr since a time
// (all of it for the zero time).
func Logs(name string, since time.Time) (string, error) {
	args := []string{"logs"}
	if !since.IsZero() {
		args = append(args, "--since", since.Format(time.RFC3339Nano))
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append(args, name)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker logs %s: %v: %s", name, err, tail(string(out), 5))
	}
	return string(out), nil
}
