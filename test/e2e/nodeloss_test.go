package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNodeLossWithRealProcesses kills one of five agents with SIGKILL: its
// workloads keep running, the server replaces them on the other nodes, and
// once the agent comes back on the same data dir it stops the stale copies,
// so that every slot runs exactly once, counted on the agents themselves.
func TestNodeLossWithRealProcesses(t *testing.T) {
	begin := time.Now()
	e := newEnv(t)
	data := filepath.Join(e.dir, "server")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.start("server", "server", "--data-dir", data, "--addr", apiAddr,
		"--agent-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--advertise", "127.0.0.1")
	e.extra = []string{"WHARF_ADDR=https://" + apiAddr, "WHARF_CACERT=" + filepath.Join(data, "ca.crt")}

	const agents = 5
	agentDirs := make([]string, 0, agents)
	for i := 1; i <= agents; i++ {
		agentDirs = append(agentDirs, filepath.Join(e.dir, fmt.Sprintf("n%d", i)))
	}
	// Registered before any agent starts, so it runs after they are killed:
	// no agent is left to start a workload again.
	t.Cleanup(func() { killWorkloads(t, agentDirs) })

	waitReady(t, e, data)
	join := strings.TrimSpace(e.wharf("node", "join-token", "-q"))
	startAgent := func(i int, logName string) *agentProc {
		name := fmt.Sprintf("n%d", i)
		cmd := e.start(logName, "agent", "--server", "https://"+apiAddr, "--token", join, "--name", name,
			"--data-dir", agentDirs[i-1], "--enable-exec", "--heartbeat", "1s")
		return &agentProc{name: name, cmd: cmd}
	}
	procs := map[string]*agentProc{}
	for i := 1; i <= agents; i++ {
		a := startAgent(i, fmt.Sprintf("n%d", i))
		procs[a.name] = a
	}

	eventually(t, 30*time.Second, "all agents Deployed", func() error {
		deployed := 0
		for _, n := range e.list("node", "ls") {
			if n.State == "Deployed" {
				deployed++
			}
		}
		if deployed != agents {
			return fmt.Errorf("%d of %d nodes Deployed", deployed, agents)
		}
		return nil
	})

	services := []struct {
		name     string
		replicas int
	}{{"alpha", 20}, {"beta", 20}, {"gamma", 10}}
	var want []string // every slot's container name
	for _, s := range services {
		e.wharf("service", "create", "--detach", "--name", s.name, "--replicas", strconv.Itoa(s.replicas), "--", wharfBin, "hello")
		for i := 1; i <= s.replicas; i++ {
			want = append(want, fmt.Sprintf("%s-%d", s.name, i))
		}
	}
	var snap clusterView
	took := eventually(t, 60*time.Second, "all 50 containers running", func() error {
		snap = e.view()
		return snap.allRunning(want, "")
	})
	t.Logf("all %d containers Running %s after create (%s since test start)", len(want), took.Round(time.Millisecond), time.Since(begin).Round(time.Second))

	// The victim is the node with the most containers.
	perNode := map[string]int{}
	for _, c := range snap.containers {
		if c.State == "Running" {
			perNode[c.Node]++
		}
	}
	victimID, most := "", -1
	for id, n := range perNode {
		if n > most || (n == most && id < victimID) {
			victimID, most = id, n
		}
	}
	victim := procs[snap.nodeName[victimID]]
	if victim == nil {
		t.Fatalf("node %s (%q) is none of the agents", victimID, snap.nodeName[victimID])
	}
	t.Logf("killing agent %s (node %s) with %d containers", victim.name, victimID, most)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = victim.cmd.Process.Wait()
	killed := time.Now()

	var unreachable, replaced time.Duration
	deadline := killed.Add(75 * time.Second) // past the asserted bound, to learn when it does happen
	var lastErr error
	for time.Now().Before(deadline) {
		v := e.view()
		if unreachable == 0 && v.nodeState[victimID] == "Unreachable" {
			unreachable = time.Since(killed)
			t.Logf("node %s Unreachable %s after the kill", victim.name, unreachable.Round(time.Millisecond))
		}
		if lastErr = v.allRunning(want, victimID); lastErr == nil {
			replaced = time.Since(killed)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if replaced == 0 {
		t.Fatalf("containers of %s not replaced within %s of the kill (Unreachable after %s): %v",
			victim.name, time.Since(killed).Round(time.Second), unreachable.Round(time.Millisecond), lastErr)
	}
	t.Logf("all %d slots Running on live nodes %s after the kill", len(want), replaced.Round(time.Millisecond))
	// With the default graces the node is Unreachable 15 s after its last
	// heartbeat and its containers are replaced 30 s after that heartbeat;
	// the issue asks for 45 s.
	const replaceBound = 45 * time.Second
	if replaced > replaceBound {
		t.Errorf("slots replaced %s after the kill, want within %s (Unreachable after %s)",
			replaced.Round(time.Millisecond), replaceBound, unreachable.Round(time.Millisecond))
	}
	// By design the killed agent's workloads still run: both copies now.
	before := liveWorkloads(t, agentDirs)
	t.Logf("%d workload processes alive on the agents before the heal (%d slots)", len(before), len(want))
	if len(before) != len(want)+most {
		t.Errorf("before the heal: %d workload processes alive, want %d (%d slots + %d left on %s)",
			len(before), len(want)+most, len(want), most, victim.name)
	}

	// Heal: the agent comes back on the same data dir.
	idx, _ := strconv.Atoi(strings.TrimPrefix(victim.name, "n"))
	procs[victim.name] = startAgent(idx, victim.name+"-again")
	var lastAgents error
	healed := eventually(t, 30*time.Second, "every slot running exactly once on the agents", func() error {
		lastAgents = exactlyOnce(wharfBin, want, liveWorkloads(t, agentDirs), ourNodes(agentDirs))
		return lastAgents
	})
	t.Logf("every slot runs exactly once on the agents %s after the agent restart", healed.Round(time.Millisecond))

	// The CLI agrees: every node Deployed, and the Running container of each
	// slot is the process found on its agent.
	storeOK := eventually(t, 15*time.Second, "the CLI agrees", func() error {
		v := e.view()
		for id, st := range v.nodeState {
			if st != "Deployed" {
				return fmt.Errorf("node %s is %s", v.nodeName[id], st)
			}
		}
		if err := v.allRunning(want, ""); err != nil {
			return err
		}
		onAgents := map[string]int{} // name -> pid
		for _, w := range liveWorkloads(t, agentDirs) {
			onAgents[w.name] = w.pid
		}
		running := map[string][]int{}
		for _, c := range v.containers {
			if c.State == "Running" {
				running[c.Name] = append(running[c.Name], c.Status.PID)
			}
		}
		for _, name := range want {
			if got := running[name]; len(got) != 1 || got[0] != onAgents[name] {
				return fmt.Errorf("%s: Running in the store with pids %v, on the agents pid %d", name, got, onAgents[name])
			}
		}
		return nil
	})
	// Stable: a second look on the agents still finds each slot once.
	time.Sleep(2 * time.Second)
	if err := exactlyOnce(wharfBin, want, liveWorkloads(t, agentDirs), ourNodes(agentDirs)); err != nil {
		t.Errorf("2s after the heal: %v", err)
	}
	t.Logf("timings: Unreachable %s, replaced %s after kill; heal %s, CLI agreed %s later; total %s",
		unreachable.Round(time.Millisecond), replaced.Round(time.Millisecond), healed.Round(time.Millisecond),
		storeOK.Round(time.Millisecond), time.Since(begin).Round(time.Second))
}

type agentProc struct {
	name string
	cmd  *exec.Cmd
}

// clusterView is one look at the store through the CLI.
type clusterView struct {
	containers []listed
	nodeState  map[string]string // by node ID
	nodeName   map[string]string // by node ID
}

func (e *env) view() clusterView {
	v := clusterView{nodeState: map[string]string{}, nodeName: map[string]string{}}
	for _, n := range e.list("node", "ls") {
		v.nodeState[n.ID] = n.State
		v.nodeName[n.ID] = n.Name
	}
	v.containers = e.list("container", "ls")
	return v
}

// allRunning checks that each name has a Running container with a pid on
// a Deployed node other than exclude.
func (v clusterView) allRunning(want []string, exclude string) error {
	ok := map[string]bool{}
	for _, c := range v.containers {
		if c.State == "Running" && c.Status.PID > 0 && c.Node != exclude && v.nodeState[c.Node] == "Deployed" {
			ok[c.Name] = true
		}
	}
	var missing []string
	for _, name := range want {
		if !ok[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d of %d slots not Running on a live node: %v", len(missing), len(want), missing)
	}
	return nil
}

// workload is a live process found in an agent's exec state.
type workload struct {
	name, id, agent string
	pid             int
}

// stateRecord is the part of the exec driver's state.json the test reads.
type stateRecord struct {
	Spec struct {
		ID   string
		Name string
	} `json:"spec"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	Exited    bool   `json:"exited"`
}

// liveWorkloads walks <agent dir>/exec/*/state.json of every agent and
// returns the runs whose process is alive (and is the one that was started:
// its start time matches).
func liveWorkloads(t *testing.T, agentDirs []string) []workload {
	t.Helper()
	var out []workload
	for _, dir := range agentDirs {
		files, err := filepath.Glob(filepath.Join(dir, "exec", "*", "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // removed meanwhile
			}
			var r stateRecord
			if err := json.Unmarshal(b, &r); err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if r.PID <= 0 || syscall.Kill(r.PID, 0) != nil {
				continue
			}
			if st, ok := procStartTime(r.PID); ok && r.StartTime != 0 && st != r.StartTime {
				continue // the pid was reused
			}
			out = append(out, workload{name: r.Spec.Name, id: r.Spec.ID, agent: filepath.Base(dir), pid: r.PID})
		}
	}
	return out
}

// procStartTime is field 22 of /proc/<pid>/stat.
func procStartTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[i+1:])) // fields[0] is field 3
	if len(fields) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	return v, err == nil
}

// ourNodes are the node IDs of the agents whose data dirs are dirs (their
// node.json), as their workloads carry them in WHARF_NODE.
func ourNodes(dirs []string) map[string]bool {
	ids := map[string]bool{}
	for _, dir := range dirs {
		var id struct {
			NodeID string `json:"node_id"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "node.json")); err == nil && json.Unmarshal(b, &id) == nil && id.NodeID != "" {
			ids[id.NodeID] = true
		}
	}
	return ids
}

// helloPIDs lists the live processes running `<bin> hello` on one of
// nodes (WHARF_NODE in their environment), agents' state or not. Other
// tests, run at the same time, run `<bin> hello` too: theirs are not
// this test's to count or kill.
func helloPIDs(bin string, nodes map[string]bool) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) >= 2 && args[0] == bin && args[1] == "hello" && !zombie(pid) && nodes[workloadNode(pid)] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// workloadNode is WHARF_NODE of process pid's environment ("" when
// unreadable).
func workloadNode(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return ""
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "WHARF_NODE="); ok {
			return v
		}
	}
	return ""
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

// exactlyOnce checks that each wanted name runs in exactly one live process
// and that no other workload process of the binary is alive.
func exactlyOnce(bin string, want []string, live []workload, nodes map[string]bool) error {
	count := map[string][]string{}
	known := map[int]bool{}
	for _, w := range live {
		count[w.name] = append(count[w.name], fmt.Sprintf("%s/pid %d", w.agent, w.pid))
		known[w.pid] = true
	}
	var problems []string
	for _, name := range want {
		if n := len(count[name]); n != 1 {
			problems = append(problems, fmt.Sprintf("%s runs %d times %v", name, n, count[name]))
		}
		delete(count, name)
	}
	for name, where := range count {
		problems = append(problems, fmt.Sprintf("unexpected workload %q alive %v", name, where))
	}
	for _, pid := range helloPIDs(bin, nodes) {
		if !known[pid] {
			problems = append(problems, fmt.Sprintf("workload process %d is in no agent's state", pid))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%d problems: %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}

// killWorkloads kills every workload process found in the agents' state,
// and any stray `<wharf> hello`, with their process groups.
func killWorkloads(t *testing.T, agentDirs []string) {
	pids := map[int]bool{}
	for _, w := range liveWorkloads(t, agentDirs) {
		pids[w.pid] = true
	}
	for _, pid := range helloPIDs(wharfBin, ourNodes(agentDirs)) {
		pids[pid] = true
	}
	for pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
