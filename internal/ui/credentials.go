package ui

// Making API tokens and setting secrets from the dashboard, through the
// same domain operations as `wharf token create` and `wharf secret
// create|update|rm`, as the signed-in actor (who decides whether it may,
// and whether the values are valid).
//
// A new token's secret is in the answer to the form's POST alone: the page
// shows it once, with a Copy button, and no later page, redirect, cookie or
// event carries it (the domain keeps only its hash). A secret's value goes
// the other way: it is read from the form (a textarea or an uploaded
// file), handed to the domain, and never written back to any page, error
// or redirect; a form shown again after a refusal comes back empty.

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// tokenForm is the new-token form's values (shown again after a refusal).
// The role is always chosen, read-only at first (the least privilege): an
// empty one means read-only for a token of no user but unnarrowed for a
// user's, which one form could not label truthfully for both.
type tokenForm struct {
	Name, Role, TTL string
	Roles           []string
	Error           string
	May             bool              // the domain's Actor.MayCreateToken: the form is offered
	Created         *api.TokenCreated // set on the page that shows the secret
}

func (h *Handler) newTokenForm(w http.ResponseWriter, r *http.Request, s *session) error {
	h.render(w, r, http.StatusOK, "token_new", s, "New API token", tokenForm{Role: api.RoleReadOnly, Roles: api.Roles, May: s.actor.MayCreateToken()})
	return nil
}

// createToken makes a token for the signed-in user (or, from a token of no
// user, one of the organization) and shows its secret, once.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, s *session) error {
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"),
		TTL: strings.TrimSpace(r.PostFormValue("ttl")), Roles: api.Roles, May: s.actor.MayCreateToken()}
	tok, err := h.d.CreateTokenFor(r.Context(), s.actor, api.CreateTokenRequest{Name: f.Name, Role: f.Role, TTL: f.TTL})
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			return err
		}
		f.Error = msg
		h.render(w, r, status, "token_new", s, "New API token", f)
		return nil
	}
	f.Created = &tok
	// The secret is in this answer only: never cached, never stored.
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "token_new", s, "Token "+tok.Name+" created", f)
	return nil
}

// secretForm is a secret's create or update form: never a value.
type secretForm struct {
	Secret *api.Secret // the secret updated; nil for a new one
	Name   string
	Error  string
}

// secretValue is the value a secret form sends: the uploaded file when one
// was chosen, else the textarea's text (exactly, but for the line ending
// the browser may turn a textarea's newlines into: CRLF becomes LF).
func secretValue(r *http.Request) ([]byte, error) {
	// The form was parsed when its token was checked (checkCSRF refuses
	// one over maxForm).
	if err := r.ParseMultipartForm(maxForm); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, invalid("value", "the form could not be read: %v", err)
	}
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			return readUpload(fhs[0])
		}
	}
	v := r.PostFormValue("value")
	return []byte(strings.ReplaceAll(v, "\r\n", "\n")), nil
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, invalid("file", "the uploaded file could not be read: %v", err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxForm))
}

// secretFailed shows a secret form again with the domain's refusal (a
// server failure goes to the error page).
func (h *Handler) secretFailed(w http.ResponseWriter, r *http.Request, s *session, page, title string, f secretForm, err error) error {
	status, msg := statusOf(err)
	if status >= 500 {
		return err
	}
	f.Error = msg
	h.render(w, r, status, page, s, title, f)
	return nil
}

func (h *Handler) newSecretForm(w http.ResponseWriter, r *http.Request, s *session) error {
	h.render(w, r, http.StatusOK, "secret_form", s, "New secret", secretForm{})
	return nil
}

func (h *Handler) createSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	data, err := secretValue(r)
	f := secretForm{Name: strings.TrimSpace(r.PostFormValue("name"))}
	if err == nil {
		_, err = h.d.CreateSecret(r.Context(), s.actor, f.Name, data)
	}
	if err != nil {
		return h.secretFailed(w, r, s, "secret_form", "New secret", f, err)
	}
	http.Redirect(w, r, "/ui/secrets?created="+url.QueryEscape(f.Name), http.StatusSeeOther)
	return nil
}

func (h *Handler) editSecretForm(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := h.d.GetSecret(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "secret_form", s, "Update secret "+sec.Name, secretForm{Secret: sec})
	return nil
}

// updateSecret replaces a secret's value, at the revision the form was
// shown at (a change made meanwhile is the domain's 409).
func (h *Handler) updateSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := h.d.GetSecret(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	data, err := secretValue(r)
	if err == nil {
		rev, perr := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
		if perr != nil {
			rev = 0 // no revision: the last write wins, as the CLI's update without one
		}
		_, err = h.d.UpdateSecret(r.Context(), s.actor, sec.ID, data, rev)
	}
	if err != nil {
		return h.secretFailed(w, r, s, "secret_form", "Update secret "+sec.Name, secretForm{Secret: sec}, err)
	}
	http.Redirect(w, r, "/ui/secrets?updated="+url.QueryEscape(sec.Name), http.StatusSeeOther)
	return nil
}

func (h *Handler) confirmRemoveSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := h.d.GetSecret(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "secret_delete", s, "Delete secret "+sec.Name, sec)
	return nil
}

// removeSecret deletes a secret once its name was typed to confirm.
func (h *Handler) removeSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := h.d.GetSecret(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got != sec.Name {
		return invalid("confirm", "type the secret's name, %q, to confirm its deletion (got %q)", sec.Name, got)
	}
	if err := h.d.RemoveSecret(r.Context(), s.actor, sec.ID, sec.Revision); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/secrets?deleted="+url.QueryEscape(sec.Name), http.StatusSeeOther)
	return nil
}

// pagesRoutes adds the routes of the tokens' and secrets' forms, the
// organizations and teams pages and the registry's images page.
func (h *Handler) pagesRoutes(page func(string, pageFunc)) {
	page("GET /ui/tokens/new", h.newTokenForm)
	page("POST /ui/tokens", h.createToken)
	page("GET /ui/secrets/new", h.newSecretForm)
	page("POST /ui/secrets", h.createSecret)
	page("GET /ui/secrets/{id}/edit", h.editSecretForm)
	page("POST /ui/secrets/{id}", h.updateSecret)
	page("GET /ui/secrets/{id}/delete", h.confirmRemoveSecret)
	page("POST /ui/secrets/{id}/delete", h.removeSecret)
	page("GET /ui/orgs", h.orgs)
	page("POST /ui/orgs", h.createOrg)
	page("GET /ui/teams", h.teams)
	page("POST /ui/teams", h.createTeam)
	page("GET /ui/teams/{id}", h.team)
	page("POST /ui/teams/{id}/members", h.addMember)
	page("POST /ui/teams/{id}/members/remove", h.removeMember)
	page("POST /ui/teams/{id}/delete", h.deleteTeam)
	page("GET /ui/images", h.images)
	page("GET /ui/images/remove", h.confirmRemoveImage)
	page("POST /ui/images/remove", h.removeImage)
}
