package apiserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/store"
)

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	return listHandler[api.Node](s, store.KindNodes, nil)(w, r)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) error {
	n, err := s.resolveNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// resolveNode finds a node by ID, else by name (what `wharf node ls`
// shows). Names need not be unique (two hosts may share a hostname), so a
// name that several nodes have is a 409 that lists their IDs.
func (s *Server) resolveNode(ctx context.Context, ref string) (*api.Node, error) {
	var n api.Node
	err := s.st.Get(ctx, store.KindNodes, ref, &n)
	if err == nil {
		return &n, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, explainWrite(err, "node", ref)
	}
	all, _, err := store.ListAll[api.Node](ctx, s.st, store.KindNodes)
	if err != nil {
		return nil, err
	}
	var found []*api.Node
	for _, n := range all {
		if n.Name == ref {
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

type patchNodeRequest struct {
	Labels map[string]string `json:"labels"`
}

// patchNode replaces a node's labels.
func (s *Server) patchNode(w http.ResponseWriter, r *http.Request) error {
	var req patchNodeRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Labels == nil {
		return errdefs.Invalid("labels", "required: the node's new labels (send {} to remove them all)")
	}
	if err := validateLabels(req.Labels); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	node, err := s.resolveNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	setObject(r, node.ID)
	n, err := modify(r.Context(), s.st, store.KindNodes, "node", node.ID, rev, func(n *api.Node) ([]api.Event, error) {
		if maps.Equal(n.Labels, req.Labels) {
			return nil, store.ErrNoChange
		}
		n.Labels = req.Labels
		return []api.Event{{Kind: "node", Object: n.ID, Name: n.Hostname, Type: "updated",
			Message: "node labels set to " + formatLabels(n.Labels)}}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
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

// deleteNode removes a node. A node without containers, or any node with
// ?force=1, is deleted at once (200, the node as Terminated; the service
// controller replaces the containers of a node that is gone). A node with
// containers is drained instead: it becomes Terminating (202, the node),
// the service controller moves each of its containers to another node and
// then deletes it.
func (s *Server) deleteNode(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	force, err := forceParam(r)
	if err != nil {
		return err
	}
	node, err := s.resolveNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	setObject(r, node.ID)
	for attempt := 0; ; attempt++ {
		n, status, err := s.tryDeleteNode(r.Context(), node.ID, rev, force)
		if errors.Is(err, store.ErrConflict) && rev == 0 && attempt < 4 {
			continue // the node changed (a heartbeat, a state): look again
		}
		if err != nil {
			return explainWrite(err, "node", node.ID)
		}
		writeJSON(w, status, n)
		return nil
	}
}

func forceParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("force"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, errdefs.Invalid("force", "want 1 or 0, got %q", v)
	}
}

func (s *Server) tryDeleteNode(ctx context.Context, id string, rev int64, force bool) (*api.Node, int, error) {
	var n api.Node
	if err := s.st.Get(ctx, store.KindNodes, id, &n); err != nil {
		return nil, 0, err
	}
	if rev > 0 && rev != n.Revision {
		return nil, 0, staleErr("node", id, rev, n.Revision)
	}
	containers, _, err := store.ListAll[api.Container](ctx, s.st, store.KindContainers)
	if err != nil {
		return nil, 0, err
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
			return nil, 0, fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
		}
		if err := s.st.Delete(ctx, store.KindNodes, id, n.Revision, ev); err != nil {
			return nil, 0, err
		}
		return &n, http.StatusOK, nil
	}
	if n.State == api.NodeTerminating {
		return &n, http.StatusAccepted, nil
	}
	ev, _, err := lifecycle.MoveNode(&n, api.NodeTerminating, fmt.Sprintf("node removal requested: draining %d container(s) to other nodes first", on))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
	}
	if err := s.st.Update(ctx, store.KindNodes, &n, ev); err != nil {
		return nil, 0, err
	}
	return &n, http.StatusAccepted, nil
}
