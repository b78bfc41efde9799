package ui

// The audit trail page: who did what, a page of the domain layer's
// actions at a time, newest first (domain.Page.Reverse, as `wharf actions
// --newest-first` lists them), the older ones linked by the page's cursor.

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// auditPageSize is how many actions a page of the audit trail shows.
const auditPageSize = 100

type auditData struct {
	Actions []api.Action
	After   string // this page's cursor ("" for the first page)
	Next    string // the older page's cursor ("" for the oldest page)
	Limit   int
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	d := auditData{After: strings.TrimSpace(q.Get("after")), Limit: auditPageSize}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return invalid("limit", "must be a whole number of actions a page, got %q", v)
		}
		d.Limit = n // the domain layer refuses one out of range
	}
	raw, err := h.d.ListActions(r.Context(), s.actor, domain.Page{Limit: d.Limit, After: d.After, Reverse: true})
	if err != nil {
		return err
	}
	d.Actions = make([]api.Action, len(raw.Items))
	for i, o := range raw.Items {
		if err := o.Decode(&d.Actions[i]); err != nil {
			return err
		}
	}
	d.Next = raw.Next
	h.render(w, r, http.StatusOK, "audit", s, "Audit trail", d)
	return nil
}
