package gateway_test

import (
	"slices"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestPullProgressEvents: a report of a container's pull progress
// (Starting, Pulling set) is stored and makes a "pulling" event when the
// percentage changes; Running ends it.
func TestPullProgressEvents(t *testing.T) {
	e := newEnv(t)
	cert, serial := nodeCert(t, e.ca, "n1")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1", Name: "box"}, State: api.NodeDeployed, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	c := &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"},
		Spec:   api.ContainerSpec{Service: "s1", Slot: 1, Node: "n1", Image: "reg.example/web:1", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerPending}}
	if err := e.st.Create(e.ctx, store.KindContainers, c); err != nil {
		t.Fatal(err)
	}
	hc := agentClient(t, e, cert)
	pct := func(p int) *int { return &p }
	for _, st := range []api.ContainerStatus{
		{State: api.ContainerStarting, Run: 1},
		{State: api.ContainerStarting, Run: 1, Pulling: pct(0)},
		{State: api.ContainerStarting, Run: 1, Pulling: pct(42)},
		{State: api.ContainerStarting, Run: 1, Pulling: pct(42)},
	} {
		postStatus(t, hc, "c1", st)
	}
	got := e.container("c1").Status
	if got.Pulling == nil || *got.Pulling != 42 || got.DisplayState() != "Pulling 42%" {
		t.Errorf("stored %+v (%s), want Pulling 42%%", got, got.DisplayState())
	}
	postStatus(t, hc, "c1", api.ContainerStatus{State: api.ContainerRunning, Run: 1, PID: 7})
	if got := e.container("c1").Status; got.Pulling != nil || got.DisplayState() != "Running" {
		t.Errorf("after Running: %+v", got)
	}
	all, _, err := e.st.Events(e.ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ev := range all {
		if ev.Object == "c1" {
			seen = append(seen, ev.Type+" "+ev.Message)
		}
	}
	want := []string{"state Starting on node box", "pulling Pulling 0% of image reg.example/web:1 on node box",
		"pulling Pulling 42% of image reg.example/web:1 on node box", "state Running on node box"}
	if !slices.Equal(seen, want) {
		t.Errorf("events %q, want %q", seen, want)
	}
}
