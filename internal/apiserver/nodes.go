package apiserver

import (
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	rp, err := s.d.ListNodes(r.Context(), actorOf(r), p.domain())
	if err != nil {
		return err
	}
	return writeRawPage(w, r, store.KindNodes, rp)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) error {
	n, err := s.d.GetNode(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

type patchNodeRequest struct {
	Labels       map[string]string     `json:"labels"`
	Availability *api.NodeAvailability `json:"availability"`
}

// patchNode replaces a node's labels ({"labels":{...}}) or sets its
// availability ({"availability":"active|pause|drain"}), one per request
// (each is its own domain operation, with its own permission).
func (s *Server) patchNode(w http.ResponseWriter, r *http.Request) error {
	var req patchNodeRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	var n *api.Node
	switch {
	case req.Availability != nil && req.Labels != nil:
		return errdefs.Invalid("availability", "send labels and availability in two requests (each is checked on its own)")
	case req.Availability != nil:
		n, err = s.d.SetNodeAvailability(r.Context(), actorOf(r), r.PathValue("id"), *req.Availability, rev)
	default:
		n, err = s.d.LabelNode(r.Context(), actorOf(r), r.PathValue("id"), req.Labels, rev)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// deleteNode removes a node: 200 with the node as Terminated when it is
// deleted at once, 202 with the node when it is draining first (see
// domain.RemoveNode).
func (s *Server) deleteNode(w http.ResponseWriter, r *http.Request) error {
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	force, err := forceParam(r)
	if err != nil {
		return err
	}
	n, removed, err := s.d.RemoveNode(r.Context(), actorOf(r), r.PathValue("id"), force, rev)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if removed {
		status = http.StatusOK
	}
	writeJSON(w, status, n)
	return nil
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
