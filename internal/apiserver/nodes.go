package apiserver

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	return listHandler[api.Node](s, store.KindNodes, nil)(w, r)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var n api.Node
	if err := s.st.Get(r.Context(), store.KindNodes, id, &n); err != nil {
		return explainWrite(err, "node", id)
	}
	writeJSON(w, http.StatusOK, n)
	return nil
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
	n, err := modify(r.Context(), s.st, store.KindNodes, "node", r.PathValue("id"), rev, func(n *api.Node) ([]api.Event, error) {
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

// deleteNode removes a node that runs no containers: the node is deleted
// with an event that tells it Terminated. A node that still has containers
// is a 409 naming them.
func (s *Server) deleteNode(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		n, err := s.tryDeleteNode(r, rev)
		if errors.Is(err, store.ErrConflict) && rev == 0 && attempt < 4 {
			continue // the node changed (a heartbeat, a state): look again
		}
		if err != nil {
			return explainWrite(err, "node", r.PathValue("id"))
		}
		writeJSON(w, http.StatusOK, n)
		return nil
	}
}

func (s *Server) tryDeleteNode(r *http.Request, rev int64) (*api.Node, error) {
	ctx, id := r.Context(), r.PathValue("id")
	var n api.Node
	if err := s.st.Get(ctx, store.KindNodes, id, &n); err != nil {
		return nil, err
	}
	if rev > 0 && rev != n.Revision {
		return nil, staleErr("node", id, rev, n.Revision)
	}
	containers, _, err := store.ListAll[api.Container](ctx, s.st, store.KindContainers)
	if err != nil {
		return nil, err
	}
	var on []string
	for _, c := range containers {
		if c.Spec.Node == id {
			on = append(on, containerLabel(c))
		}
	}
	if len(on) > 0 {
		shown := on[:min(len(on), 5)]
		more := ""
		if len(on) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(on)-len(shown))
		}
		return nil, newErr(errdefs.ErrConflict, "node %s still has %d container(s) (%s%s); scale, stop or remove their services first",
			id, len(on), strings.Join(shown, ", "), more)
	}
	n.State = api.NodeTerminated
	ev := api.Event{Kind: "node", Object: n.ID, Name: n.Hostname, Type: "deleted", State: string(api.NodeTerminated), Message: "node removed"}
	if err := s.st.Delete(ctx, store.KindNodes, id, n.Revision, ev); err != nil {
		return nil, err
	}
	return &n, nil
}
