package domain

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// snapshot is every stored node, token, join token and event with its
// revision: equal snapshots mean nothing was written between them.

// refused checks that err is a forbidden error and that the store is as
// before was.
func refused(t *testing.T, d *Domain, before, op string, err error) {
	t.Helper()
	if !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("%s: %v, want a forbidden error", op, err)
	}
	if after := snapshot(t, d); after != before {
		t.Errorf("%s was refused but wrote:\nbefore:\n%safter:\n%s", op, before, after)
	}
}

func addNode(t *testing.T, d *Domain, id, name string) {
	t.Helper()
	n := api.Node{Meta: api.Meta{ID: id, Name: name}, Hostname: name, State: api.NodeDeployed}
	if err := d.st.Create(context.Background(), store.KindNodes, &n); err != nil {
		t.Fatal(err)
	}
}

func TestNodesRefuseWithoutPermission(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	addNode(t, d, "n1", "host-1")
	before := snapshot(t, d)
	for _, a := range []Actor{deployer, reader} {
		_, err := d.LabelNode(ctx, a, "n1", map[string]string{"zone": "a"}, 0)
		refused(t, d, before, a.Role+" LabelNode", err)
		_, _, err = d.RemoveNode(ctx, a, "n1", true, 0)
		refused(t, d, before, a.Role+" RemoveNode", err)
	}
	// Reading nodes needs only Read.
	for _, a := range []Actor{deployer, reader} {
		if n, err := d.GetNode(ctx, a, "host-1"); err != nil || n.ID != "n1" {
			t.Errorf("%s GetNode: %+v %v", a.Role, n, err)
		}
		if p, err := d.ListNodes(ctx, a, Page{}); err != nil || len(p.Items) != 1 {
			t.Errorf("%s ListNodes: %+v %v", a.Role, p, err)
		}
	}
	if _, err := d.GetNode(ctx, Actor{Name: "x", Access: FullAccess(), Role: "nobody"}, "n1"); err != nil {
		t.Errorf("unknown role GetNode: %v (an unknown role reads)", err)
	}
}

func TestNodeLabelAndRemove(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	addNode(t, d, "n1", "host-1")
	addNode(t, d, "n2", "host-2")
	addNode(t, d, "n3", "host-2")

	var note Note
	n, err := d.LabelNode(Noting(ctx, &note), admin, "host-1", map[string]string{"zone": "a"}, 0)
	if err != nil || n.Labels["zone"] != "a" || note.Object != "n1" {
		t.Fatalf("LabelNode: %+v %v, noted %q", n, err, note.Object)
	}
	if _, err := d.LabelNode(ctx, admin, "n1", nil, 0); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("nil labels: %v", err)
	}
	if _, err := d.LabelNode(ctx, admin, "n1", map[string]string{"=x": "y"}, 0); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("bad label key: %v", err)
	}
	if _, err := d.LabelNode(ctx, admin, "n1", map[string]string{"k": "a\x1bb"}, 0); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("control character in a label value: %v", err)
	}
	if _, err := d.LabelNode(ctx, admin, "n1", map[string]string{}, n.Revision-1); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("stale revision: %v", err)
	}
	if _, err := d.GetNode(ctx, admin, "host-2"); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "n2, n3") {
		t.Errorf("a name two nodes have: %v", err)
	}
	if _, err := d.GetNode(ctx, admin, "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown node: %v", err)
	}

	// A node with a container drains; with force, or empty, it goes at once.
	c := api.Container{Meta: api.Meta{ID: "c1"}, Spec: api.ContainerSpec{Node: "n2"}}
	if err := d.st.Create(ctx, store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
	n, removed, err := d.RemoveNode(ctx, admin, "n2", false, 0)
	if err != nil || removed || n.State != api.NodeTerminating {
		t.Fatalf("RemoveNode with a container: %+v %v %v", n, removed, err)
	}
	n, removed, err = d.RemoveNode(ctx, admin, "n2", true, 0)
	if err != nil || !removed || n.State != api.NodeTerminated {
		t.Fatalf("forced RemoveNode: %+v %v %v", n, removed, err)
	}
	n, removed, err = d.RemoveNode(ctx, admin, "n1", false, 0)
	if err != nil || !removed || n.State != api.NodeTerminated {
		t.Fatalf("RemoveNode of an empty node: %+v %v %v", n, removed, err)
	}
	if _, err := d.GetNode(ctx, admin, "n1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("removed node: %v", err)
	}
}

// A node's availability is a nodes admin's to set: other roles are
// refused and nothing is written; an unknown availability and a node
// being removed are refused with errors that say what to do; setting the
// one it has writes nothing; leaving drain clears what a drain waited for.
func TestSetNodeAvailability(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	addNode(t, d, "n1", "host-1")
	addNode(t, d, "n2", "host-2")
	before := snapshot(t, d)
	for _, a := range []Actor{deployer, reader} {
		_, err := d.SetNodeAvailability(ctx, a, "n1", api.AvailabilityDrain, 0)
		refused(t, d, before, a.Role+" SetNodeAvailability", err)
	}
	for _, bad := range []api.NodeAvailability{"", "Drain", "disabled"} {
		_, err := d.SetNodeAvailability(ctx, admin, "n1", bad, 0)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "want active, pause or drain") {
			t.Errorf("availability %q: %v, want invalid naming the choices", bad, err)
		}
	}
	if after := snapshot(t, d); after != before {
		t.Errorf("refused availabilities wrote:\nbefore:\n%safter:\n%s", before, after)
	}
	if _, err := d.SetNodeAvailability(ctx, admin, "nope", api.AvailabilityDrain, 0); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown node: %v", err)
	}
	// Another organization's admin does not find the node.
	other := Actor{Name: "acme-admin", Org: "acme", Access: FullAccess(), Role: api.RoleAdmin}
	if _, err := d.SetNodeAvailability(ctx, other, "n1", api.AvailabilityDrain, 0); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("another organization's node: %v, want not found", err)
	}
	if after := snapshot(t, d); after != before {
		t.Errorf("refused availabilities wrote:\nbefore:\n%safter:\n%s", before, after)
	}

	var note Note
	n, err := d.SetNodeAvailability(Noting(ctx, &note), admin, "host-1", api.AvailabilityDrain, 0)
	if err != nil || n.Availability != api.AvailabilityDrain || n.State != api.NodeDeployed || note.Object != "n1" {
		t.Fatalf("drain: %+v %v, noted %q", n, err, note.Object)
	}
	if _, err := d.SetNodeAvailability(ctx, admin, "n1", api.AvailabilityPause, n.Revision-1); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("stale revision: %v", err)
	}
	same := snapshot(t, d)
	if n2, err := d.SetNodeAvailability(ctx, admin, "n1", api.AvailabilityDrain, 0); err != nil || n2.Revision != n.Revision {
		t.Errorf("drain again: %+v %v, want unchanged", n2, err)
	}
	if after := snapshot(t, d); after != same {
		t.Errorf("drain again wrote:\nbefore:\n%safter:\n%s", same, after)
	}
	evs, _, err := d.st.Events(ctx, store.EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	drains := 0
	for _, ev := range evs {
		if ev.Kind == "node" && ev.Object == "n1" && ev.Type == "availability" && strings.Contains(ev.Message, "availability drain") {
			drains++
		}
	}
	if drains != 1 {
		t.Errorf("%d availability drain events for n1, want 1", drains)
	}

	// What the controller wrote of the drain goes when it ends.
	var cur api.Node
	if err := d.st.Modify(ctx, store.KindNodes, "n1", &cur, func() ([]api.Event, error) {
		cur.DrainWaiting = "web-1: cannot move"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	n, err = d.SetNodeAvailability(ctx, admin, "n1", api.AvailabilityActive, 0)
	if err != nil || n.Available() != api.AvailabilityActive || n.DrainWaiting != "" {
		t.Fatalf("activate: %+v %v", n, err)
	}

	// A node being removed keeps its availability.
	c := api.Container{Meta: api.Meta{ID: "c1"}, Spec: api.ContainerSpec{Node: "n2"}}
	if err := d.st.Create(ctx, store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.RemoveNode(ctx, admin, "n2", false, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetNodeAvailability(ctx, admin, "n2", api.AvailabilityActive, 0); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "being removed") {
		t.Errorf("availability of a Terminating node: %v, want a conflict saying it is being removed", err)
	}
}

// connectedBuilder is a NodeBuilder whose every node is connected; it
// builds nothing.
type connectedBuilder struct{ NodeBuilder }

func (connectedBuilder) NodeConnected(string) bool { return true }

// TestBuildNodeIsActive: builds go to an active node only; with every
// build node paused or draining, the refusal says so.
func TestBuildNodeIsActive(t *testing.T) {
	d := newTestDomain(t)
	ctx := context.Background()
	for _, id := range []string{"b1", "b2"} {
		n := api.Node{Meta: api.Meta{ID: id, Name: id}, State: api.NodeDeployed, AllowBuilds: true, Drivers: []string{"docker"}}
		if err := d.st.Create(ctx, store.KindNodes, &n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.SetNodeAvailability(ctx, admin, "b1", api.AvailabilityDrain, 0); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if id, err := d.buildNode(ctx, admin, connectedBuilder{}); err != nil || id != "b2" {
			t.Fatalf("build node: %q, %v; want b2, the active one", id, err)
		}
	}
	if _, err := d.SetNodeAvailability(ctx, admin, "b2", api.AvailabilityPause, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.buildNode(ctx, admin, connectedBuilder{}); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "active (not paused nor draining)") {
		t.Errorf("build with every node drained or paused: %v", err)
	}
}
