package ui

// The node forms: set or remove one label, set the node's availability
// (drain, pause, activate), and remove (drain) a node once its name was
// typed to confirm. Each calls the domain layer as the
// signed-in actor, which decides whether the actor may and whether the
// label is valid; the form token was checked before (see signedIn).

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// nodeName is what a node is called on its pages (and what its removal's
// confirmation asks for).
func nodeName(n *api.Node) string { return cmp.Or(n.Name, n.Hostname, n.ID) }

// labelNode sets the label named key to value (op "set") or removes it
// (op "remove"), keeping the node's other labels. It writes at the
// revision it read, so a change made meanwhile is refused, not lost.
func (h *Handler) labelNode(w http.ResponseWriter, r *http.Request, s *session) error {
	n, err := h.d.GetNode(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	if key == "" {
		return invalid("key", "required: the label's name, such as zone")
	}
	labels := maps.Clone(n.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	switch op := r.PostFormValue("op"); op {
	case "set":
		labels[key] = r.PostFormValue("value")
	case "remove":
		delete(labels, key)
	default:
		return invalid("op", "must be set or remove, got %q", op)
	}
	if _, err := h.d.LabelNode(r.Context(), s.actor, n.ID, labels, n.Revision); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/nodes/"+url.PathEscape(n.ID), http.StatusSeeOther)
	return nil
}

func (h *Handler) confirmRemoveNode(w http.ResponseWriter, r *http.Request, s *session) error {
	n, err := h.d.GetNode(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "node_remove", s, "Remove "+nodeName(n), n)
	return nil
}

// removeNode removes a node (draining it first when containers run on
// it) once its name was typed to confirm.
func (h *Handler) removeNode(w http.ResponseWriter, r *http.Request, s *session) error {
	n, err := h.d.GetNode(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got != nodeName(n) {
		return invalid("confirm", "type the node's name, %q, to confirm its removal (got %q)", nodeName(n), got)
	}
	_, removed, err := h.d.RemoveNode(r.Context(), s.actor, n.ID, false, 0)
	if err != nil {
		return err
	}
	if removed {
		http.Redirect(w, r, "/ui/nodes", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/ui/nodes/"+url.PathEscape(n.ID), http.StatusSeeOther) // draining: its page shows Terminating
	return nil
}

// setNodeAvailability sets the node's availability to the form's
// (active, pause or drain); the domain refuses an actor who may not and
// an availability it does not know.
func (h *Handler) setNodeAvailability(w http.ResponseWriter, r *http.Request, s *session) error {
	n, err := h.d.GetNode(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	to := api.NodeAvailability(r.PostFormValue("availability"))
	if _, err := h.d.SetNodeAvailability(r.Context(), s.actor, n.ID, to, 0); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/nodes/"+url.PathEscape(n.ID), http.StatusSeeOther)
	return nil
}

// availabilityMove is one availability button: the availability it sets
// and its words.
type availabilityMove struct {
	To    api.NodeAvailability
	Label string
}

// availabilityMoves are the buttons of node n's page: every availability
// but its own, none for a node being removed.
func availabilityMoves(n *api.Node) []availabilityMove {
	if n.State == api.NodeTerminating || n.State == api.NodeTerminated {
		return nil
	}
	var out []availabilityMove
	for _, m := range []availabilityMove{{api.AvailabilityActive, "Activate"}, {api.AvailabilityPause, "Pause"}, {api.AvailabilityDrain, "Drain"}} {
		if m.To != n.Available() {
			out = append(out, m)
		}
	}
	return out
}
