package fault

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/test/multihost"
)

// agentsBack is the promise: after the server restarts, every
// agent is back (its node Deployed and heard from) within 10 s of the
// server answering.
const agentsBack = 10 * time.Second

// outage is how long the server stays down in the last round: longer than
// the default node-loss grace (11 s), so that every agent is past its
// fence time and asks its witnesses.
const outage = 15 * time.Second

// TestServerKilled is scenario (d): the server is killed -9 (`docker kill`
// of its container) three times (ten in the long form), each time right
// after the API acknowledged a write (a new service and a node label), and
// started again. No workload restarts (same driver ID, PID and start
// time), the agents are back within 10 s of the server answering, and
// every acknowledged write is still there. The last round keeps the server
// down for outage, longer than the node-loss grace: the agents, whose
// witnesses all say nobody hears the server, fence nothing.
func TestServerKilled(t *testing.T) {
	eachRun(t, func(t *testing.T) {
		f := start(t, light, multihost.Options{})
		before, pids := f.running(t), f.workloadPIDs(t)
		kills := pick(3, 10)
		var acked []string
		var worstUp, worstBack time.Duration
		for round := 1; round <= kills; round++ {
			name := fmt.Sprintf("acked-%d", round)
			f.Wharf("service", "create", "--detach", "--name", name, "--replicas", "0", "--", "/wharf", "hello")
			f.Wharf("node", "label", f.nodes[f.Agents[0]], fmt.Sprintf("round=%d", round))
			acked = append(acked, name)
			killed := time.Now()
			f.KillContainer(f.Server)
			if round == kills {
				time.Sleep(outage)
			}
			f.StartContainer(f.Server)
			f.WaitAPI(60 * time.Second)
			up := time.Since(killed)
			back, err := multihost.Poll(60*time.Second, func() error { return f.back(killed, f.Agents...) })
			if err != nil {
				t.Fatalf("round %d: agents not back: %v", round, err)
			}
			if back > agentsBack {
				t.Errorf("round %d: agents back %s after the server answered; the promise is %s", round, secs(back), agentsBack)
			}
			worstUp, worstBack = max(worstUp, up), max(worstBack, back)
			t.Logf("round %d: server answering %s after kill -9, agents back %s later", round, secs(up), secs(back))
			f.ackedKept(t, acked, round)
		}
		fences := 0
		for _, a := range f.Agents {
			out, err := multihost.Logs(a, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			fences += strings.Count(out, "fenced: stopping")
		}
		if fences > 0 {
			t.Errorf("%d containers fenced while the server was down", fences)
		}
		f.noRestarts(t, before)
		f.samePIDs(t, pids)
		if err := f.exactlyOnce(f.Agents); err != nil {
			t.Error(err)
		}
		t.Logf("figure d: %d server kills -9 (the last one down for %s): server answering at worst %s after the kill, agents back at worst %s after that; no restart, nothing fenced, no acknowledged write lost",
			kills, secs(outage), secs(worstUp), secs(worstBack))
	})
}

// back returns nil when every node is Deployed and the nodes of the given
// agents said hello (which sets LastSeen; heartbeats do not) after since.
func (f *fixture) back(since time.Time, agents ...string) error {
	nodes, err := f.Nodes()
	if err != nil {
		return err
	}
	if len(nodes) != len(f.Agents) {
		return fmt.Errorf("%d nodes, want %d", len(nodes), len(f.Agents))
	}
	for _, n := range nodes {
		if n.State != "Deployed" {
			return fmt.Errorf("node %s is %s", n.Name, n.State)
		}
		if slices.ContainsFunc(agents, func(a string) bool { return f.nodes[a] == n.ID }) && !n.LastSeen.After(since) {
			return fmt.Errorf("node %s not back: last seen %s", n.Name, n.LastSeen.Format(time.StampMilli))
		}
	}
	return nil
}

// ackedKept checks that every acknowledged service exists and that node-1
// has the label of the last round.
func (f *fixture) ackedKept(t *testing.T, acked []string, round int) {
	t.Helper()
	out, err := f.Try("service", "ls", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var svcs []api.Service
	if err := json.Unmarshal([]byte(out), &svcs); err != nil {
		t.Fatal(err)
	}
	for _, name := range acked {
		if !slices.ContainsFunc(svcs, func(s api.Service) bool { return s.Name == name }) {
			t.Errorf("round %d: service %s was acknowledged before the kill and is gone", round, name)
		}
	}
	out, err = f.Try("node", "inspect", f.nodes[f.Agents[0]])
	if err != nil {
		t.Fatal(err)
	}
	var nodes []api.Node
	if err := json.Unmarshal([]byte(out), &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("node inspect node-1: %v: %s", err, out)
	}
	if got, want := nodes[0].Labels["round"], fmt.Sprint(round); got != want {
		t.Errorf("round %d: node-1 label round=%q, acknowledged %q before the kill", round, got, want)
	}
}
