package ui

// The organization's API tokens and secrets, read through the domain as
// the signed-in actor: tokens by name, kind, role, owner and expiry (never
// a secret or a hash; the domain does not hand them out), with a delete
// form behind a confirmation page; secrets by name, size and version
// (never a value: the domain's list holds none). A user who may not list
// them sees the domain's refusal on the page.

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// tokenRow is one token as the tokens page shows it.
type tokenRow struct {
	ID, Name, Kind, Role, Owner string
	Created, Expires            time.Time
	Expired                     bool
	// CanDelete offers the delete form: the signed-in user's own token, or
	// any for whoever manages the organization. The domain still decides.
	CanDelete bool
}

type tokensData struct {
	Tokens    []tokenRow
	Refused   string // the domain's refusal to list them
	CanCreate bool   // the domain's Actor.MayCreateToken: offer the new-token form
}

func (h *Handler) allTokens(r *http.Request, a domain.Actor) ([]api.Token, error) {
	return allOf(func(p domain.Page) (api.List[api.Token], error) { return h.d.ListTokens(r.Context(), a, p) })
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request, s *session) error {
	d := tokensData{CanCreate: s.actor.MayCreateToken()}
	ts, err := h.allTokens(r, s.actor)
	switch {
	case forbidden(err):
		_, d.Refused = statusOf(err)
	case err != nil:
		return err
	}
	now := time.Now()
	manage := s.actor.Can(domain.OrgManage)
	for i := range ts {
		t := &ts[i]
		row := tokenRow{ID: t.ID, Name: t.Name, Kind: cmp.Or(t.Kind, "bearer"), Role: t.EffectiveRole(),
			Owner: cmp.Or(t.User, t.Team), Created: t.CreatedAt, Expires: t.ExpiresAt,
			CanDelete: manage || (s.actor.User != "" && t.User == s.actor.User)}
		if t.Team != "" {
			row.Owner = "team " + t.Team
		}
		row.Expired = !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(now)
		d.Tokens = append(d.Tokens, row)
	}
	slices.SortFunc(d.Tokens, func(a, b tokenRow) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	h.render(w, r, http.StatusOK, "tokens", s, "API tokens", d)
	return nil
}

// findToken is the token id among those the actor may list.
func (h *Handler) findToken(r *http.Request, a domain.Actor, id string) (*api.Token, error) {
	ts, err := h.allTokens(r, a)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i], nil
		}
	}
	return nil, errf(errNotFound.kind, "no token %q among those you may see; it may have been deleted already", id)
}

func (h *Handler) confirmDeleteToken(w http.ResponseWriter, r *http.Request, s *session) error {
	t, err := h.findToken(r, s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "token_delete", s, "Delete token "+t.Name, t)
	return nil
}

// deleteToken deletes a token, by ID, once its name was typed to confirm.
func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	t, err := h.findToken(r, s.actor, id)
	if err != nil {
		return err
	}
	if got := r.PostFormValue("confirm"); got != t.Name {
		return invalid("confirm", "type the token's name, %q, to confirm its deletion (got %q)", t.Name, got)
	}
	if err := h.d.DeleteToken(r.Context(), s.actor, t.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/tokens?deleted="+url.QueryEscape(t.Name), http.StatusSeeOther)
	return nil
}

type secretsData struct {
	Secrets []api.Secret
	Refused string
	Done    string // what the last form did (created, updated or deleted a secret)
}

func (h *Handler) secrets(w http.ResponseWriter, r *http.Request, s *session) error {
	var d secretsData
	q := r.URL.Query()
	for _, k := range []string{"created", "updated", "deleted"} {
		if n := q.Get(k); n != "" {
			d.Done = "Secret " + n + " " + k + "."
		}
	}
	ss, err := allOf(func(p domain.Page) (api.List[api.Secret], error) { return h.d.ListSecrets(r.Context(), s.actor, p) })
	switch {
	case forbidden(err):
		_, d.Refused = statusOf(err)
	case err != nil:
		return err
	}
	slices.SortFunc(ss, func(a, b api.Secret) int { return cmp.Compare(a.Name, b.Name) })
	d.Secrets = ss
	h.render(w, r, http.StatusOK, "secrets", s, "Secrets", d)
	return nil
}
