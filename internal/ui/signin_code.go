package ui

// Signing in with a one-time code from `wharf ui`: the link shows a page
// that asks to continue (so that a link preview or a prefetch spends
// nothing, and nobody is signed in by merely following a link someone
// sent), and its form trades the code, once, for a session.

import (
	"crypto/hmac"
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/throttle"
)

type codeData struct {
	CSRF, Code, Error string
}

func (h *Handler) codeForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.renderCode(w, r, http.StatusOK, codeData{Code: r.URL.Query().Get("code")})
}

func (h *Handler) renderCode(w http.ResponseWriter, r *http.Request, status int, d codeData) {
	d.CSRF = h.loginCookie(w)
	h.render(w, r, status, "code", nil, "Sign in", d)
}

// redeemCode trades the code for a session: a token the dashboard made,
// so signing out deletes it.
func (h *Handler) redeemCode(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	d := codeData{Code: r.PostFormValue("code")}
	fail := func(err error) {
		status, msg := statusOf(err)
		d.Error = msg
		h.renderCode(w, r, status, d)
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostFormValue(csrfField))) {
		fail(errf(errdefs.ErrForbidden, "the sign-in form expired or came from elsewhere; open the link again"))
		return
	}
	src := throttle.Source(r.RemoteAddr)
	if wait, blocked := h.cfg.Throttle.Blocked(src); blocked {
		fail(errf(errdefs.ErrTooManyRequests, "too many failed sign-ins from this address; try again in %s", wait.Round(1e9)))
		return
	}
	tok, org, err := h.d.RedeemSignInCode(r.Context(), d.Code)
	if err != nil {
		if errors.Is(err, errdefs.ErrUnauthorized) {
			h.cfg.Throttle.Fail(src)
		}
		fail(err)
		return
	}
	h.startSession(w, "p."+tok.Secret, org)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}
