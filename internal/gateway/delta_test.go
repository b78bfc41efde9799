package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// deltaAgent is a fake agent's handler of assignment pushes: it records
// each push as decoded, and answers 409, as an agent that lacks a kept
// container does, to the deltas it is told to refuse, and 503 to those it
// is told to fail.
type deltaAgent struct {
	mu     sync.Mutex
	pushes []api.Assignments
	refuse int // deltas still to refuse
	fail   int // deltas still to fail
}

func (d *deltaAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path != "/agent/v1/assignments" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var a api.Assignments
	if err := json.Unmarshal(b, &a); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pushes = append(d.pushes, a)
	if a.Delta && d.fail > 0 {
		d.fail--
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"busy"}}`)
		return
	}
	if a.Delta && d.refuse > 0 {
		d.refuse--
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"error":{"code":"conflict","message":"keeps a container this agent does not have"}}`)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// since returns the pushes after the first n.
func (d *deltaAgent) since(n int) []api.Assignments {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.pushes[min(n, len(d.pushes)):])
}

// ids are the IDs of cs.
func ids(cs []api.Container) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// pushShape is a push in brief: whether it is a delta, the IDs it carries
// whole, the IDs it keeps.
func pushShape(a api.Assignments) string {
	return fmt.Sprintf("delta=%v containers=%v kept=%v", a.Delta, ids(a.Containers), a.Kept)
}

// TestDeltaAssignments: an agent that says FeatureDeltaAssignments gets a
// full set first, then only the containers whose spec changed and the IDs
// of the rest; a status write adds nothing; a removed container leaves
// Kept; a refused delta (409) is followed at once by the full set, a
// failed one by the full set when retried. An agent that does not say it
// gets full sets only.
func TestDeltaAssignments(t *testing.T) {
	e := newEnv(t)
	agents := map[string]*deltaAgent{}
	for _, n := range []string{"n1", "n2"} {
		cert, serial := nodeCert(t, e.ca, n)
		if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: n}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
			t.Fatal(err)
		}
		agents[n] = &deltaAgent{}
		fa := dialFakeAgent(t, e, cert, agents[n])
		hello := `{"hostname":"` + n + `","os":"linux","arch":"amd64"}`
		if n == "n1" {
			hello = `{"hostname":"n1","os":"linux","arch":"amd64","features":["` + api.FeatureDeltaAssignments + `"]}`
		}
		if status, eb := fa.post(t, "/agent/v1/hello", hello); status != http.StatusOK {
			t.Fatalf("hello of %s: %d %+v", n, status, eb)
		}
	}
	// create makes containers in one write, so that one push brings them.
	create := func(node string, ids ...string) {
		t.Helper()
		txn := e.st.Txn()
		for _, id := range ids {
			txn.Create(store.KindContainers, &api.Container{Meta: api.Meta{ID: id, Name: id}, Spec: api.ContainerSpec{Service: "s", Slot: 1,
				Node: node, Command: []string{"serve"}, Driver: "fake", Desired: api.ContainerRunning}})
		}
		if err := txn.Commit(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	update := func(id string, change func(*api.Container)) {
		t.Helper()
		c := e.container(id)
		change(&c)
		if err := e.st.Update(e.ctx, store.KindContainers, &c); err != nil {
			t.Fatal(err)
		}
	}
	respec := func(id, arg string) {
		t.Helper()
		update(id, func(c *api.Container) { c.Spec.Command = []string{"serve", arg} })
	}
	// expect waits for the pushes to a after its first n to hold want
	// (their shapes, one after the other), and returns the number of
	// pushes up to the last of them. Other pushes (the witness ring's)
	// may come before or after.
	expect := func(a *deltaAgent, n int, what string, want ...string) int {
		t.Helper()
		end := 0
		eventually(t, 10*time.Second, what, func() error {
			var shapes []string
			for _, p := range a.since(n) {
				shapes = append(shapes, pushShape(p))
			}
			for i := 0; i+len(want) <= len(shapes); i++ {
				if slices.Equal(shapes[i:i+len(want)], want) {
					end = n + i + len(want)
					return nil
				}
			}
			return fmt.Errorf("pushes %q, want them to hold %q", shapes, want)
		})
		return end
	}

	n1, n2 := agents["n1"], agents["n2"]
	// The first push of a session (at hello, of no containers) is full;
	// the set it delivered is the base of the next.
	expect(n1, 0, "n1's first set, full and empty", "delta=false containers=[] kept=[]")
	if first := n1.since(0)[0]; first.Delta || len(first.Kept) != 0 {
		t.Errorf("n1's first push %s, want a full set", pushShape(first))
	}
	create("n1", "c1", "c2")
	create("n2", "d1")
	seen := expect(n1, 0, "n1's new containers, as a delta", "delta=true containers=[c1 c2] kept=[]")
	seen2 := expect(n2, 0, "n2's set, full", "delta=false containers=[d1] kept=[]")

	// A status write, then a spec change: only the changed container is
	// sent; the other is kept.
	update("c1", func(c *api.Container) { c.Status = api.ContainerStatus{State: api.ContainerRunning, PID: 42, Run: 1} })
	respec("c2", "v2")
	seen = expect(n1, seen, "a delta with c2 only", "delta=true containers=[c2] kept=[c1]")
	if p := n1.since(seen - 1)[0]; !slices.Equal(p.Containers[0].Spec.Command, []string{"serve", "v2"}) {
		t.Errorf("c2 sent as %+v, want its new spec", p.Containers[0].Spec)
	}

	// A new container is sent, the others kept.
	create("n1", "c3")
	seen = expect(n1, seen, "a delta with c3 only", "delta=true containers=[c3] kept=[c1 c2]")

	// A removed container leaves Kept; nothing is sent whole.
	if err := e.st.Delete(e.ctx, store.KindContainers, "c1", 0); err != nil {
		t.Fatal(err)
	}
	seen = expect(n1, seen, "a delta without c1", "delta=true containers=[] kept=[c2 c3]")

	// The agent refuses the next delta: the full set follows, and deltas
	// go on from it.
	n1.mu.Lock()
	n1.refuse = 1
	n1.mu.Unlock()
	respec("c3", "v2")
	seen = expect(n1, seen, "a refused delta, then the full set",
		"delta=true containers=[c3] kept=[c2]", "delta=false containers=[c2 c3] kept=[]")
	respec("c2", "v3")
	seen = expect(n1, seen, "a delta again", "delta=true containers=[c2] kept=[c3]")

	// A push that fails leaves the gateway unsure of the agent's set: the
	// retry is the full set.
	n1.mu.Lock()
	n1.fail = 1
	n1.mu.Unlock()
	respec("c3", "v3")
	seen = expect(n1, seen, "a failed delta, then the full set",
		"delta=true containers=[c3] kept=[c2]", "delta=false containers=[c2 c3] kept=[]")
	respec("c3", "v4")
	expect(n1, seen, "a delta after the retry", "delta=true containers=[c3] kept=[c2]")

	// The agent that did not say the feature gets full sets.
	update("d1", func(c *api.Container) { c.Status = api.ContainerStatus{State: api.ContainerRunning, PID: 7, Run: 1} })
	create("n2", "d2")
	expect(n2, seen2, "n2's set, full", "delta=false containers=[d1 d2] kept=[]")
	for _, p := range n2.since(0) {
		if p.Delta || len(p.Kept) != 0 {
			t.Errorf("n2 got %s, want full sets only", pushShape(p))
		}
	}
}
