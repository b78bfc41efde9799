package domain

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/store"
)

// ListNodes reads a page of nodes as stored (a node's stored form is its
// wire form). It refuses an actor who may not read nodes.
func (d *Domain) ListNodes(ctx context.Context, a Actor, p Page) (RawPage, error) {
	if err := a.need(NodesView); err != nil {
		return RawPage{}, err
	}
	return d.cachedRawPage(ctx, a, store.KindNodes, p)
}

// GetNode finds a node by ID, else by name (see resolveNode). It refuses an
// actor who may not read nodes.
func (d *Domain) GetNode(ctx context.Context, a Actor, ref string) (*api.Node, error) {
	if err := a.need(NodesView); err != nil {
		return nil, err
	}
	return d.resolveNode(ctx, a, ref)
}

// resolveNode finds a node by ID, else by name (what `wharf node ls`
// shows). Names need not be unique (two hosts may share a hostname), so a
// name that several nodes have is a conflict that lists their IDs. Only
// the actor's organization's nodes are found.
func (d *Domain) resolveNode(ctx context.Context, a Actor, ref string) (*api.Node, error) {
	var n api.Node
	err := d.st.Get(ctx, store.KindNodes, ref, &n)
	if err == nil && a.owns(&n.Meta) {
		return &n, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, explainWrite(err, "node", ref)
	}
	all, _, err := store.ListAll[api.Node](ctx, d.st, store.KindNodes)
	if err != nil {
		return nil, err
	}
	var found []*api.Node
	for _, n := range all {
		if n.Name == ref && a.owns(&n.Meta) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, notFoundErr("node", ref)
	case 1:
		return found[0], nil
	default:
		ids := make([]string, len(found))
		for i, n := range found {
			ids[i] = n.ID
		}
		return nil, newErr(errdefs.ErrConflict, "%d nodes are named %q; name one by its ID: %s", len(found), ref, strings.Join(ids, ", "))
	}
}

// LabelNode replaces the labels of the node ref names (nil is refused; an
// empty map removes them all), at revision rev when rev > 0. It refuses an
// actor who may not change nodes, and invalid labels.
func (d *Domain) LabelNode(ctx context.Context, a Actor, ref string, labels map[string]string, rev int64) (*api.Node, error) {
	if err := a.need(NodesLabel); err != nil {
		return nil, err
	}
	if labels == nil {
		return nil, errdefs.Invalid("labels", "required: the node's new labels (send {} to remove them all)")
	}
	if err := validateLabels(labels); err != nil {
		return nil, err
	}
	node, err := d.resolveNode(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	noteObject(ctx, node.ID)
	return modify(ctx, d.st, store.KindNodes, "node", node.ID, rev, func(n *api.Node) ([]api.Event, error) {
		if maps.Equal(n.Labels, labels) {
			return nil, store.ErrNoChange
		}
		n.Labels = labels
		return []api.Event{{Kind: "node", Object: n.ID, Name: n.Hostname, Type: "updated",
			Message: "node labels set to " + formatLabels(n.Labels)}}, nil
	})
}

func formatLabels(l map[string]string) string {
	if len(l) == 0 {
		return "(none)"
	}
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// RemoveNode removes the node ref names, at revision rev when rev > 0. A
// node without containers, or any node with force, is deleted at once
// (removed is true; the node is returned as Terminated, and the service
// controller replaces the containers of a node that is gone). A node with
// containers is drained instead (removed is false): it becomes
// Terminating, and the service controller moves each of its containers to
// another node and then deletes it. It refuses an actor who is not a nodes
// admin.
func (d *Domain) RemoveNode(ctx context.Context, a Actor, ref string, force bool, rev int64) (n *api.Node, removed bool, err error) {
	if err := a.need(NodesRemove); err != nil {
		return nil, false, err
	}
	node, err := d.resolveNode(ctx, a, ref)
	if err != nil {
		return nil, false, err
	}
	noteObject(ctx, node.ID)
	for attempt := 0; ; attempt++ {
		n, removed, err := d.tryRemoveNode(ctx, node.ID, rev, force)
		if errors.Is(err, store.ErrConflict) && rev == 0 && attempt < 4 {
			continue // the node changed (a heartbeat, a state): look again
		}
		if err != nil {
			return nil, false, explainWrite(err, "node", node.ID)
		}
		return n, removed, nil
	}
}

func (d *Domain) tryRemoveNode(ctx context.Context, id string, rev int64, force bool) (*api.Node, bool, error) {
	var n api.Node
	if err := d.st.Get(ctx, store.KindNodes, id, &n); err != nil {
		return nil, false, err
	}
	if rev > 0 && rev != n.Revision {
		return nil, false, staleErr("node", id, rev, n.Revision)
	}
	containers, _, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
	if err != nil {
		return nil, false, err
	}
	on := 0
	for _, c := range containers {
		if c.Spec.Node == id {
			on++
		}
	}
	if on == 0 || force {
		msg := "node removed"
		if on > 0 {
			msg = fmt.Sprintf("node removed without draining (forced): its %d container(s) are rescheduled", on)
		}
		ev, _, err := lifecycle.MoveNode(&n, api.NodeTerminated, msg)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
		}
		ev.Org = n.Org
		if err := d.st.Delete(ctx, store.KindNodes, id, n.Revision, ev); err != nil {
			return nil, false, err
		}
		return &n, true, nil
	}
	if n.State == api.NodeTerminating {
		return &n, false, nil
	}
	ev, _, err := lifecycle.MoveNode(&n, api.NodeTerminating, fmt.Sprintf("node removal requested: draining %d container(s) to other nodes first", on))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
	}
	if err := d.st.Update(ctx, store.KindNodes, &n, ev); err != nil {
		return nil, false, err
	}
	return &n, false, nil
}

// availabilityMessages are the events' words for each availability.
var availabilityMessages = map[api.NodeAvailability]string{
	api.AvailabilityActive: "availability active: containers may be placed on the node again (nothing moves back on its own)",
	api.AvailabilityPause:  "availability pause: nothing new is placed on the node; its containers keep running",
	api.AvailabilityDrain:  "availability drain: nothing new is placed on the node, and its services' containers move to other nodes",
}

// SetNodeAvailability sets the availability of the node ref names (active,
// pause or drain: lifecycle.SetAvailability), at revision rev when rev >
// 0, with an "availability" event; setting the one it has changes
// nothing. The scheduler places nothing on a node that is not active; the
// service controller moves a draining node's containers elsewhere (and
// keeps DrainWaiting on it, which leaving drain clears). It refuses an
// actor who is not a nodes admin (as node rm does: a drain moves every
// service's containers), an unknown availability and a node being removed.
func (d *Domain) SetNodeAvailability(ctx context.Context, a Actor, ref string, to api.NodeAvailability, rev int64) (*api.Node, error) {
	if err := a.need(NodesRemove); err != nil {
		return nil, err
	}
	if err := lifecycle.ValidAvailability(to); err != nil {
		return nil, errdefs.Invalid("availability", "%q: want active, pause or drain", to)
	}
	node, err := d.resolveNode(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	noteObject(ctx, node.ID)
	return modify(ctx, d.st, store.KindNodes, "node", node.ID, rev, func(n *api.Node) ([]api.Event, error) {
		ev, changed, err := lifecycle.SetAvailability(n, to, availabilityMessages[to])
		if err != nil {
			return nil, newErr(errdefs.ErrConflict, "node %q is %s: it is being removed (node rm drains it already), so its availability cannot change", n.ID, n.State)
		}
		if !changed {
			return nil, store.ErrNoChange
		}
		if to != api.AvailabilityDrain {
			n.DrainWaiting = ""
		}
		ev.Org = n.Org
		return []api.Event{ev}, nil
	})
}
