package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestForgedPostsRefused: a POST from another site (by Sec-Fetch-Site, or
// by Origin for an older browser) and a POST without the session's form
// token (or with another session's) are refused before anything changes;
// the same form from the dashboard works.
func TestForgedPostsRefused(t *testing.T) {
	e := newEnv(t)
	svc := e.service("web", 1)
	b := e.signedIn(e.admin)
	page := b.get("/ui/services/" + svc.ID)
	wantCode(t, "service page", page, http.StatusOK)
	csrf := csrfOf(t, page.body)
	other := e.signedIn(e.token("other", api.RoleAdmin))
	otherCSRF := csrfOf(t, other.get("/ui/").body)
	path := "/ui/services/" + svc.ID + "/scale"

	for _, c := range []struct {
		what string
		form url.Values
		hdr  []string
	}{
		{"cross-site (Sec-Fetch-Site)", url.Values{"csrf": {csrf}, "replicas": {"5"}}, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
		{"cross-site (Origin only)", url.Values{"csrf": {csrf}, "replicas": {"5"}}, []string{"Origin", "https://evil.example"}},
		{"without the form token", url.Values{"replicas": {"5"}}, nil},
		{"with another session's form token", url.Values{"csrf": {otherCSRF}, "replicas": {"5"}}, nil},
	} {
		var r response
		if c.hdr != nil {
			r = b.do("POST", path, c.form, c.hdr...)
		} else {
			r = b.post(path, c.form)
		}
		wantCode(t, c.what, r, http.StatusForbidden)
		if n := e.replicas(svc.ID); n != 1 {
			t.Fatalf("%s: replicas %d after a refused POST", c.what, n)
		}
	}
	r := b.post(path, url.Values{"csrf": {csrf}, "replicas": {"3"}})
	wantCode(t, "scale from the dashboard", r, http.StatusSeeOther)
	if n := e.replicas(svc.ID); n != 3 {
		t.Errorf("replicas %d after scaling to 3", n)
	}
}

// TestSecurityHeaders: every answer (pages, the sign-in form, errors,
// static files) forbids inline script and style and framing.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.admin)
	for _, p := range []string{"/ui/", "/ui/login", "/ui/nope", "/ui/static/app.js", "/ui/services/missing"} {
		r := b.get(p)
		csp := r.hdr.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", p, csp)
		}
		if r.hdr.Get("X-Frame-Options") != "DENY" || r.hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, r.hdr)
		}
	}
}

// TestNoInlineCode: the templates hold no inline script, style or event
// handler, which the policy would block anyway.
func TestNoInlineCode(t *testing.T) {
	e := newEnv(t)
	e.service("web", 1)
	b := e.signedIn(e.admin)
	for _, p := range []string{"/ui/", "/ui/services", "/ui/nodes", "/ui/stacks", "/ui/events", "/ui/login"} {
		body := strings.ToLower(b.get(p).body)
		for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s has inline code %q", p, bad)
			}
		}
	}
}

// TestReadOnlyRole: a read-only token's pages offer no action, and its
// forged POST (with a valid form token) is refused by the domain layer.
func TestReadOnlyRole(t *testing.T) {
	e := newEnv(t)
	svc := e.service("web", 2)
	b := e.signedIn(e.token("viewer", api.RoleReadOnly))
	page := b.get("/ui/services/" + svc.ID)
	wantCode(t, "service page", page, http.StatusOK)
	for _, action := range []string{"/scale", "/stop", "/start", "/redeploy", "/remove", ">Scale<", "Remove…"} {
		if strings.Contains(page.body, action) {
			t.Errorf("the read-only page offers %q", action)
		}
	}
	if strings.Contains(b.get("/ui/nodes").body, "/ui/nodes/join-token") {
		t.Error("the read-only nodes page offers a join command")
	}
	csrf := csrfOf(t, page.body) // the sign-out form's: the session's token
	for _, p := range []string{"/scale", "/stop", "/redeploy"} {
		r := b.post("/ui/services/"+svc.ID+p, url.Values{"csrf": {csrf}, "replicas": {"9"}})
		wantCode(t, "read-only POST "+p, r, http.StatusForbidden)
		wantIn(t, "read-only POST "+p, r.body, "read-only")
	}
	r := b.post("/ui/services/"+svc.ID+"/remove", url.Values{"csrf": {csrf}, "confirm": {"web"}})
	wantCode(t, "read-only remove", r, http.StatusForbidden)
	if n := e.replicas(svc.ID); n != 2 {
		t.Errorf("replicas %d after refused POSTs", n)
	}
}
