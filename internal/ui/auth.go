package ui

// Sign-in, the session cookie and sign-out. The session cookie holds the
// API token's secret itself (HttpOnly, so no script reads it; SameSite
// Strict and Path /ui, so no other site's request and no other path of
// the server carries it); every request authenticates it again through
// domain.Authenticate, so a deleted token or a changed membership applies
// at once, and the failure throttle counts a wrong one.

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/throttle"
)

// The cookies.
const (
	sessionCookie = "wharf_session" // "p.<secret>" (a login token the dashboard made) or "t.<secret>" (a token pasted in)
	orgCookie     = "wharf_org"     // the organization chosen (api.OrgHeader's equivalent)
	loginCookie   = "wharf_login"   // the sign-in form's token, before a session exists
)

// maxForm bounds a form's body.
const maxForm = 1 << 20

// session is a signed-in request: the actor it acts as, and what its
// pages need to render forms.
type session struct {
	secret string
	made   bool // the dashboard made the token by a password sign-in: signing out deletes it
	actor  domain.Actor
	csrf   string
}

// pageFunc serves a page or a form for a signed-in user.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// sessionOf reads the session cookie: the secret, and whether the
// dashboard made its token.
func sessionOf(r *http.Request) (secret string, made bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	kind, secret, ok := strings.Cut(c.Value, ".")
	if !ok || (kind != "p" && kind != "t") {
		return "", false
	}
	return secret, kind == "p"
}

func orgOf(r *http.Request) string {
	if c, err := r.Cookie(orgCookie); err == nil {
		return c.Value
	}
	return ""
}

// authenticate finds the session's actor, behind the failure throttle: a
// source that sent too many wrong secrets is refused before a store read.
// A chosen organization the user lost falls back to the default one.
func (h *Handler) authenticate(r *http.Request, secret string) (domain.Actor, error) {
	src := throttle.Source(r.RemoteAddr)
	if wait, blocked := h.cfg.Throttle.Blocked(src); blocked {
		return domain.Actor{}, errf(errdefs.ErrTooManyRequests, "too many failed sign-ins from this address; try again in %s", wait.Round(1e9))
	}
	org := orgOf(r)
	a, err := h.d.Authenticate(r.Context(), secret, org)
	if err != nil && org != "" && !errors.Is(err, errdefs.ErrUnauthorized) {
		a, err = h.d.Authenticate(r.Context(), secret, "")
	}
	if errors.Is(err, errdefs.ErrUnauthorized) {
		h.cfg.Throttle.Fail(src)
	}
	return a, err
}

// signedIn runs f for a request with a valid session, after checking a
// POST's form token; without one a page redirects to the sign-in form.
func (h *Handler) signedIn(f pageFunc) http.Handler { return h.signedInLimit(f, maxForm) }

// signedInLimit is signedIn with limit as the largest body a POST may
// send.
func (h *Handler) signedInLimit(f pageFunc, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		secret, made := sessionOf(r)
		if secret == "" {
			h.toLogin(w, r)
			return
		}
		a, err := h.authenticate(r, secret)
		if errors.Is(err, errdefs.ErrUnauthorized) {
			h.clearSession(w)
			h.toLogin(w, r)
			return
		}
		s := &session{secret: secret, made: made, actor: a, csrf: h.csrfToken(secret)}
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := parseBody(r, limit); err != nil {
				h.fail(w, r, s, err)
				return
			}
			if err := h.checkCSRF(r, secret); err != nil {
				h.fail(w, r, s, err)
				return
			}
		}
		if err := f(w, r, s); err != nil {
			h.fail(w, r, s, err)
		}
	})
}

// toLogin sends a GET to the sign-in form (coming back afterwards), and
// answers anything else 401.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.fail(w, r, nil, errf(errdefs.ErrUnauthorized, "you are not signed in (or your session ended): sign in again"))
		return
	}
	http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// loginData is the sign-in form's.
type loginData struct {
	CSRF, Next, User, Org, Error string
}

// loginForm shows the sign-in form, with a fresh form token in a cookie
// of its own (a double submit: no session exists yet to key one on).
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.CSRF = h.loginCookie(w)
	h.render(w, r, status, "login", nil, "Sign in", d)
}

// loginCookie sets a fresh token for a sign-in form in a cookie of its
// own (on /ui/login and below) and returns it for the form's hidden field.
func (h *Handler) loginCookie(w http.ResponseWriter) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v, Path: "/ui/login", MaxAge: 3600,
		HttpOnly: true, Secure: !h.cfg.Insecure, SameSite: http.SameSiteStrictMode})
	return v
}

// startSession sets the session's cookies (value is "p.<secret>" or
// "t.<secret>") and forgets the sign-in form's token.
func (h *Handler) startSession(w http.ResponseWriter, value, org string) {
	http.SetCookie(w, h.cookie(sessionCookie, value))
	if org != "" {
		http.SetCookie(w, h.cookie(orgCookie, org))
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/ui/login", MaxAge: -1, HttpOnly: true, Secure: !h.cfg.Insecure, SameSite: http.SameSiteStrictMode})
}

// login signs in with a user's name and password (the domain layer makes
// a login token) or with an API token pasted in.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	d := loginData{Next: safeNext(r.PostFormValue("next")), User: r.PostFormValue("user"), Org: strings.TrimSpace(r.PostFormValue("org"))}
	fail := func(err error) {
		status, detail := statusOf(err)
		d.Error = detail
		h.renderLogin(w, r, status, d)
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostFormValue(csrfField))) {
		fail(errf(errdefs.ErrForbidden, "the sign-in form expired or came from elsewhere; sign in again with this form"))
		return
	}
	src := throttle.Source(r.RemoteAddr)
	if wait, blocked := h.cfg.Throttle.Blocked(src); blocked {
		fail(errf(errdefs.ErrTooManyRequests, "too many failed sign-ins from this address; try again in %s", wait.Round(1e9)))
		return
	}
	secret, made := strings.TrimSpace(r.PostFormValue("token")), false
	if secret == "" {
		if d.User == "" {
			fail(invalid("user", "enter your user name and password, or an API token"))
			return
		}
		tok, err := h.d.Login(r.Context(), api.LoginRequest{User: d.User, Password: r.PostFormValue("password")})
		if err != nil {
			if errors.Is(err, errdefs.ErrUnauthorized) {
				h.cfg.Throttle.Fail(src)
			}
			fail(err)
			return
		}
		secret, made = tok.Secret, true
	}
	if _, err := h.d.Authenticate(r.Context(), secret, d.Org); err != nil {
		if errors.Is(err, errdefs.ErrUnauthorized) {
			h.cfg.Throttle.Fail(src)
		}
		if made { // the new login token is of no use: take it back
			if a, aerr := h.d.Authenticate(r.Context(), secret, ""); aerr == nil {
				_ = h.d.DeleteToken(r.Context(), a, a.Token)
			}
		}
		fail(err)
		return
	}
	kind := "t."
	if made {
		kind = "p."
	}
	h.startSession(w, kind+secret, d.Org)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// logout ends the session; a login token the dashboard made is deleted
// (a token pasted in is the user's to keep).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.made {
		if err := h.d.DeleteToken(r.Context(), s.actor, s.actor.Token); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	h.clearSession(w)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}

// switchOrg chooses the organization the session acts in, once the
// domain layer accepts it for this token.
func (h *Handler) switchOrg(w http.ResponseWriter, r *http.Request, s *session) error {
	org := strings.TrimSpace(r.PostFormValue("org"))
	if _, err := h.d.Authenticate(r.Context(), s.secret, org); err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(orgCookie, org))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	return nil
}

// cookie is a session-long cookie of the dashboard's.
func (h *Handler) cookie(name, value string) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/ui", HttpOnly: true, Secure: !h.cfg.Insecure, SameSite: http.SameSiteStrictMode}
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	for _, n := range []string{sessionCookie, orgCookie} {
		c := h.cookie(n, "")
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
}

// safeNext is where to go after signing in: a dashboard path, never
// another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}
