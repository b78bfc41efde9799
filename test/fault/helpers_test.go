package fault

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/test/multihost"
)

// agents is the cluster size the issue asks for: a server and five agents.
const agents = 5

// load is a set of services, name to replicas, each running `/wharf hello`.
type load map[string]int

// total is the number of slots of the load.
func (l load) total() int {
	n := 0
	for _, r := range l {
		n += r
	}
	return n
}

// heavy is the load: 50 containers over 3 services.
var heavy = load{"web": 20, "api": 20, "worker": 10}

// light is the load of the scenarios that check for restarts.
var light = load{"web": 6, "api": 6, "worker": 3}

// fixture is a started cluster running a load.
type fixture struct {
	*multihost.Cluster
	load  load
	nodes map[string]string // agent container name -> node ID
}

// start starts a cluster with o (five agents unless o says otherwise), then
// the load, and waits until every slot runs exactly once, counted on the
// agents.
func start(t *testing.T, l load, o multihost.Options) *fixture {
	t.Helper()
	if o.Agents == 0 {
		o.Agents = agents
	}
	c := multihost.StartClusterWith(t, build, o)
	ids, err := c.NodeIDs()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{Cluster: c, load: l, nodes: ids}
	began := time.Now()
	for _, name := range slices.Sorted(maps.Keys(l)) {
		c.Wharf("service", "create", "--detach", "--name", name, "--replicas", fmt.Sprint(l[name]), "--", "/wharf", "hello")
	}
	multihost.Eventually(t, 120*time.Second, "the load runs exactly once on the agents", func() error {
		return f.exactlyOnce(c.Agents)
	})
	t.Logf("%d containers of %d services running exactly once %s after the first create", l.total(), len(l), secs(time.Since(began)))
	// The agents run the load; their last reports may still be on the way
	// (a status batch): scenarios that compare the store's view before and
	// after a fault take theirs once the store has every process's PID.
	multihost.Eventually(t, 30*time.Second, "the store has every container Running with its PID", func() error {
		for _, ct := range f.running(t) {
			if ct.Status.State != api.ContainerRunning || ct.Status.PID == 0 {
				return fmt.Errorf("%s is %s with PID %d in the store", ct.Name, ct.Status.State, ct.Status.PID)
			}
		}
		return nil
	})
	return f
}

// exactlyOnce returns nil when every slot the store wants running (desired
// Running) is run by exactly one workload process on the given agents, and
// those agents run nothing else of Wharf's: each process is the store's
// container for its slot, on the node the store placed it on. An agent
// container that is not running counts as running nothing.
func (f *fixture) exactlyOnce(on []string) error {
	cts, err := f.AllContainers()
	if err != nil {
		return err
	}
	want := map[string]api.Container{} // container ID -> container
	for _, ct := range cts {
		if ct.Spec.Desired == api.ContainerRunning {
			want[ct.ID] = ct
		}
	}
	if len(want) != f.load.total() {
		return fmt.Errorf("%d containers desired Running, want %d", len(want), f.load.total())
	}
	where := map[string]string{} // slot name -> agent container running it
	for _, agent := range on {
		if _, err := f.MainPID(agent); err != nil {
			continue // stopped: runs nothing
		}
		ws, err := f.AgentWorkloads(agent)
		if err != nil {
			return err
		}
		for _, w := range ws {
			ct, ok := want[w.ContainerID]
			if !ok {
				return fmt.Errorf("%s runs %s (container %s), which the store does not want running", short(agent), w.Name, w.ContainerID)
			}
			if ct.Spec.Node != f.nodes[agent] {
				return fmt.Errorf("%s runs %s, which the store placed on node %s", short(agent), w.Name, ct.Spec.Node)
			}
			if other, dup := where[w.Name]; dup {
				return fmt.Errorf("slot %s runs twice: on %s and %s", w.Name, short(other), short(agent))
			}
			where[w.Name] = agent
		}
	}
	if len(where) != len(want) {
		var missing []string
		for _, ct := range want {
			if _, ok := where[ct.Name]; !ok {
				missing = append(missing, ct.Name)
			}
		}
		slices.Sort(missing)
		return fmt.Errorf("%d of %d slots run on the agents; missing %s", len(where), len(want), strings.Join(missing, " "))
	}
	return nil
}

// onNode counts the containers the store wants running on a node.
func (f *fixture) onNode(agent string) int {
	cts, err := f.AllContainers()
	if err != nil {
		return -1
	}
	n := 0
	for _, ct := range cts {
		if ct.Spec.Node == f.nodes[agent] && ct.Spec.Desired == api.ContainerRunning {
			n++
		}
	}
	return n
}

// states maps node names to their states.
func (f *fixture) states() (map[string]string, error) {
	nodes, err := f.Nodes()
	if err != nil {
		return nil, err
	}
	s := map[string]string{}
	for _, n := range nodes {
		s[n.Name] = n.State
	}
	return s, nil
}

// nodeName is the node name of an agent container.
func (f *fixture) nodeName(agent string) string {
	return fmt.Sprintf("node-%d", slices.Index(f.Agents, agent)+1)
}

// others returns the agent containers but the given ones.
func (f *fixture) others(but ...string) []string {
	return slices.DeleteFunc(slices.Clone(f.Agents), func(a string) bool { return slices.Contains(but, a) })
}

// running snapshots the store's running containers by ID.
func (f *fixture) running(t *testing.T) map[string]api.Container {
	t.Helper()
	cts, err := f.AllContainers()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]api.Container{}
	for _, ct := range cts {
		if ct.Spec.Desired == api.ContainerRunning {
			m[ct.ID] = ct
		}
	}
	return m
}

// noRestarts reports every container of before that is gone, moved, or
// was restarted (another driver ID, PID, start time or restart count) in
// the store now, and every container that is new.
func (f *fixture) noRestarts(t *testing.T, before map[string]api.Container) {
	t.Helper()
	after := f.running(t)
	for id, b := range before {
		a, ok := after[id]
		switch {
		case !ok:
			t.Errorf("container %s (%s) is no longer desired Running: rescheduled", b.Name, id)
		case a.Status.State != api.ContainerRunning || a.Spec.Node != b.Spec.Node || a.Status.DriverID != b.Status.DriverID ||
			a.Status.PID != b.Status.PID || !a.Status.StartedAt.Equal(b.Status.StartedAt) || a.Status.RestartCount != b.Status.RestartCount:
			t.Errorf("container %s restarted or moved: state %s, node %s -> %s, driver id %s -> %s, pid %d -> %d, started %s -> %s, restarts %d -> %d",
				b.Name, a.Status.State, b.Spec.Node, a.Spec.Node, b.Status.DriverID, a.Status.DriverID, b.Status.PID, a.Status.PID,
				b.Status.StartedAt.Format(time.StampMilli), a.Status.StartedAt.Format(time.StampMilli), b.Status.RestartCount, a.Status.RestartCount)
		}
	}
	for id, a := range after {
		if _, ok := before[id]; !ok {
			t.Errorf("container %s (%s) is new: something was rescheduled", a.Name, id)
		}
	}
}

// workloadPIDs maps each agent container to the host PIDs of what it runs.
func (f *fixture) workloadPIDs(t *testing.T) map[string][]int {
	t.Helper()
	all, err := f.AllWorkloads()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]int{}
	for a, ws := range all {
		for _, w := range ws {
			m[a] = append(m[a], w.PID)
		}
		slices.Sort(m[a])
	}
	return m
}

// samePIDs checks that every agent container runs the very processes it
// ran before.
func (f *fixture) samePIDs(t *testing.T, before map[string][]int) {
	t.Helper()
	after := f.workloadPIDs(t)
	for _, a := range f.Agents {
		if !slices.Equal(after[a], before[a]) {
			t.Errorf("%s: workload pids %v, were %v", short(a), after[a], before[a])
		}
	}
}

// short drops the cluster's random prefix from a container name.
func short(name string) string {
	if i := strings.LastIndex(name, "-node-"); i >= 0 {
		return name[i+1:]
	}
	return name
}

// secs formats a duration as seconds with one decimal, for the figures.
func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
