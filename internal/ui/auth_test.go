package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestSignInWithPasswordAndOut: a user signs in with a password (the
// domain layer makes a login token, kept in an HttpOnly, Secure,
// SameSite=Strict cookie on /ui), sees the pages, and signing out deletes
// that token, so the cookie's secret no longer works anywhere.
func TestSignInWithPasswordAndOut(t *testing.T) {
	e := newEnv(t)
	if _, err := e.d.CreateUser(e.ctx, e.root, api.CreateUserRequest{Name: "ann", Password: "ann-password-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.AddMember(e.ctx, e.root, api.OwnersTeam, "ann"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	r := b.signIn("user", "ann", "password", "ann-password-1", "next", "/ui/services")
	wantCode(t, "sign in", r, http.StatusSeeOther)
	if loc := r.hdr.Get("Location"); loc != "/ui/services" {
		t.Errorf("sign in goes to %q, want /ui/services", loc)
	}
	var cookie string
	for _, c := range r.hdr.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			cookie = c
		}
	}
	for _, attr := range []string{"Path=/ui", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	secret := strings.TrimPrefix(strings.SplitN(cookie, ";", 2)[0], sessionCookie+"=p.")
	if _, err := e.d.Authenticate(e.ctx, secret, ""); err != nil {
		t.Fatalf("the session's login token: %v", err)
	}
	page := b.get("/ui/")
	wantCode(t, "overview", page, http.StatusOK)
	wantIn(t, "overview", page.body, "ann", "Sign out", "Overview")

	out := b.post("/ui/logout", url.Values{"csrf": {csrfOf(t, page.body)}})
	wantCode(t, "sign out", out, http.StatusSeeOther)
	if _, err := e.d.Authenticate(e.ctx, secret, ""); err == nil {
		t.Error("the login token still works after signing out")
	}
	if r := b.get("/ui/"); r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/ui/login") {
		t.Errorf("after signing out: %d %s, want a redirect to the sign-in form", r.code, r.hdr.Get("Location"))
	}
}

// TestSignInRefusals: a wrong password or token is refused on the form
// (and counted by the throttle), a form without its token is refused, a
// page without a session goes to the sign-in form, and `next` never
// leads off the dashboard.
func TestSignInRefusals(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.signIn("user", "nobody", "password", "wrong")
	wantCode(t, "wrong password", r, http.StatusUnauthorized)
	wantIn(t, "wrong password", r.body, "wrong user name or password")

	r = b.signIn("token", "wharf_not-a-token")
	wantCode(t, "wrong token", r, http.StatusUnauthorized)

	r = b.post("/ui/login", url.Values{"token": {e.admin}}) // no form token
	wantCode(t, "sign-in without the form's token", r, http.StatusForbidden)

	r = e.browser().get("/ui/services?q=x")
	wantCode(t, "page without a session", r, http.StatusSeeOther)
	if loc := r.hdr.Get("Location"); loc != "/ui/login?next="+url.QueryEscape("/ui/services?q=x") {
		t.Errorf("redirect to %q", loc)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/ui/", "/v1/tokens"} {
		if got := safeNext(next); got != "/ui/" {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
}

// TestRevokedTokenEndsSession: every request authenticates the cookie
// again, so deleting the token signs the browser out at once.
func TestRevokedTokenEndsSession(t *testing.T) {
	e := newEnv(t)
	tok, err := e.d.CreateToken(e.ctx, e.root, "laptop", api.RoleAdmin, false)
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(tok.Secret)
	wantCode(t, "services", b.get("/ui/services"), http.StatusOK)
	if err := e.d.DeleteToken(e.ctx, e.root, tok.Token.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "services after the token was deleted", b.get("/ui/services"), http.StatusSeeOther)
}

// TestSignOutKeepsPastedToken: signing out of a session begun with a
// pasted API token leaves that token alone (it is the user's).
func TestSignOutKeepsPastedToken(t *testing.T) {
	e := newEnv(t)
	secret := e.token("ci", api.RoleAdmin)
	b := e.signedIn(secret)
	page := b.get("/ui/")
	wantCode(t, "sign out", b.post("/ui/logout", url.Values{"csrf": {csrfOf(t, page.body)}}), http.StatusSeeOther)
	if _, err := e.d.Authenticate(e.ctx, secret, ""); err != nil {
		t.Errorf("the pasted token stopped working: %v", err)
	}
}
