package ui

// The forms: each reads its fields, calls one domain operation as the
// signed-in actor (which decides whether the actor may, and whether the
// values are valid) and goes back to the page it came from. The form
// token was checked before (see signedIn).

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// back redirects to the service's page.
func back(w http.ResponseWriter, r *http.Request, svc *api.Service) {
	http.Redirect(w, r, "/ui/services/"+url.PathEscape(svc.ID), http.StatusSeeOther)
}

func (h *Handler) scale(w http.ResponseWriter, r *http.Request, s *session) error {
	v := strings.TrimSpace(r.PostFormValue("replicas"))
	n, err := strconv.Atoi(v)
	if err != nil {
		return invalid("replicas", "must be a whole number of containers, got %q", v)
	}
	svc, err := h.d.ScaleService(r.Context(), s.actor, r.PathValue("id"), n, 0)
	if err != nil {
		return err
	}
	back(w, r, svc)
	return nil
}

func (h *Handler) stopService(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.SetServiceRunning(r.Context(), s.actor, r.PathValue("id"), false, 0)
	if err != nil {
		return err
	}
	back(w, r, svc)
	return nil
}

func (h *Handler) startService(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.SetServiceRunning(r.Context(), s.actor, r.PathValue("id"), true, 0)
	if err != nil {
		return err
	}
	back(w, r, svc)
	return nil
}

func (h *Handler) redeploy(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.RedeployService(r.Context(), s.actor, r.PathValue("id"), 0)
	if err != nil {
		return err
	}
	back(w, r, svc)
	return nil
}

// remove removes a service once its name was typed to confirm.
func (h *Handler) remove(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.GetService(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got != svc.Name {
		return invalid("confirm", "type the service's name, %q, to confirm its removal (got %q)", svc.Name, got)
	}
	if _, err := h.d.RemoveService(r.Context(), s.actor, svc.ID, svc.Revision); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/services", http.StatusSeeOther)
	return nil
}

// joinToken makes a join token and shows its command once, on the nodes
// page (never in a URL or a cookie).
func (h *Handler) joinToken(w http.ResponseWriter, r *http.Request, s *session) error {
	tok, err := h.d.CreateJoinToken(r.Context(), s.actor, api.JoinTokenRequest{TTL: r.PostFormValue("ttl")})
	if err != nil {
		return err
	}
	ns, err := h.allNodes(r.Context(), s.actor)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "nodes", s, "Nodes", nodesData{Nodes: ns, Join: &tok})
	return nil
}
