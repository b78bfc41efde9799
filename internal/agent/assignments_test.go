package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// wanted is the executor's set: by ID, the command each container is to
// run.
func (e *executor) wanted() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for id, c := range e.want {
		out[id] = strings.Join(c.Spec.Command, " ")
	}
	return out
}

// TestAssignmentDeltas: a delta merges into the set the session applied
// last (its containers replace or join it, the kept ones stay as they
// were, the rest go) and everything downstream sees the full set; a delta
// that keeps a container the agent lacks, or comes before any full set
// of the session, is refused 409 and changes nothing; a stale one is
// ignored.
func TestAssignmentDeltas(t *testing.T) {
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{fake.New()}}, log: slog.New(slog.DiscardHandler)}
	a.exec = newExecutor(a) // not run: the test looks at the set only
	ctr := func(id, cmd string) api.Container {
		return api.Container{Meta: api.Meta{ID: id, Name: id}, Spec: api.ContainerSpec{Service: "s", Slot: 1,
			Command: strings.Fields(cmd), Desired: api.ContainerRunning}}
	}
	put := func(s *agentSession, asg api.Assignments) *http.Response {
		t.Helper()
		b, err := json.Marshal(asg)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/agent/v1/assignments", strings.NewReader(string(b))))
		return rec.Result()
	}
	check := func(step string, want map[string]string) {
		t.Helper()
		if got := a.exec.wanted(); !maps.Equal(got, want) {
			t.Fatalf("%s: the agent's set %v, want %v", step, got, want)
		}
	}
	refused := func(step string, resp *http.Response) {
		t.Helper()
		if err := errhttp.Read(resp); resp.StatusCode != http.StatusConflict || !errors.Is(err, errdefs.ErrConflict) {
			t.Fatalf("%s: answered %d (%v), want 409 conflict", step, resp.StatusCode, err)
		}
	}
	ok := func(step string, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: answered %d, want 204", step, resp.StatusCode)
		}
	}

	s := newAgentSession(a, nil)
	// A delta before the session applied any set: it has no base.
	refused("a delta first", put(s, api.Assignments{Revision: 4, Delta: true, Containers: []api.Container{ctr("c1", "one")}}))
	check("after a delta first", map[string]string{})

	ok("the full set", put(s, api.Assignments{Revision: 5, Containers: []api.Container{ctr("c1", "one"), ctr("c2", "two"), ctr("c3", "three")}}))
	check("the full set", map[string]string{"c1": "one", "c2": "two", "c3": "three"})

	// c2 changes, c4 joins, c1 is kept, c3 is no longer assigned. The
	// whole fields are the delta's, for kept containers too.
	ok("a delta", put(s, api.Assignments{Revision: 6, Delta: true, Kept: []string{"c1"},
		Containers:   []api.Container{ctr("c4", "four"), ctr("c2", "two v2")},
		Secrets:      map[string][]api.SecretFile{"c1": {{Target: "pw", Data: []byte("x")}}},
		FenceAfterMS: 3000}))
	merged := map[string]string{"c1": "one", "c2": "two v2", "c4": "four"}
	check("after a delta", merged)
	a.exec.mu.Lock()
	asg := a.exec.asg
	a.exec.mu.Unlock()
	var order []string
	for _, c := range asg.Containers {
		order = append(order, c.ID)
	}
	if asg.Delta || asg.Kept != nil || !slices.Equal(order, []string{"c1", "c2", "c4"}) || len(asg.Secrets["c1"]) != 1 {
		t.Errorf("the executor's assignments: delta %v, kept %v, containers %v, secrets %v; want the full set by ID, with c1's secret",
			asg.Delta, asg.Kept, order, asg.Secrets)
	}
	if f := a.fenceState(); f.after.Milliseconds() != 3000 {
		t.Errorf("fencing after %s, want the delta's 3s", f.after)
	}

	// A delta that keeps a container the agent does not have: refused,
	// and nothing changes (the revision neither: the full set of that
	// revision is taken next).
	refused("a delta keeping c3", put(s, api.Assignments{Revision: 7, Delta: true, Kept: []string{"c1", "c3"},
		Containers: []api.Container{ctr("c5", "five")}, FenceAfterMS: 9000}))
	check("after the refused delta", merged)
	if f := a.fenceState(); f.after.Milliseconds() != 3000 {
		t.Errorf("fencing after %s: a refused delta changed it", f.after)
	}

	// A delta older than the set applied is ignored.
	ok("a stale delta", put(s, api.Assignments{Revision: 5, Delta: true, Kept: []string{"c1"}}))
	check("after a stale delta", merged)

	ok("the full set after the refusal", put(s, api.Assignments{Revision: 7, Containers: []api.Container{ctr("c1", "one"), ctr("c5", "five")}}))
	check("the full set after the refusal", map[string]string{"c1": "one", "c5": "five"})
	ok("an empty delta", put(s, api.Assignments{Revision: 8, Delta: true, Kept: []string{"c5"}}))
	check("an empty delta", map[string]string{"c5": "five"})

	// A new session's delta has no base, whatever the agent holds.
	s2 := newAgentSession(a, nil)
	refused("a new session's delta", put(s2, api.Assignments{Revision: 9, Delta: true, Kept: []string{"c5"}}))
	check("after a new session's delta", map[string]string{"c5": "five"})
}

// TestHelloSaysDeltaAssignments: the agent tells the gateway it takes
// deltas; without it the gateway sends full sets only.
func TestHelloSaysDeltaAssignments(t *testing.T) {
	hellos := make(chan api.AgentHello, 1)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h api.AgentHello
		if r.URL.Path != "/agent/v1/hello" || json.NewDecoder(r.Body).Decode(&h) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		hellos <- h
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"n1","state":"Deployed"}`)
	}))
	defer gw.Close()
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{fake.New()}, Hostname: "h1"}, log: slog.New(slog.DiscardHandler)}
	a.rep = newReporter(a)
	a.exec = newExecutor(a)
	s := &agentSession{a: a, client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", gw.Listener.Addr().String())
		},
	}}}
	if err := s.hello(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h := <-hellos; !slices.Contains(h.Features, api.FeatureDeltaAssignments) {
		t.Errorf("hello features %q, want %q among them", h.Features, api.FeatureDeltaAssignments)
	}
}
