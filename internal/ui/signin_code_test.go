package ui

import (
	"net/http"
	"net/url"
	"testing"
)

// TestSignInWithCode: `wharf ui`'s link shows a page that spends nothing;
// its form trades the code for a session once; signing out deletes the
// session's token.
func TestSignInWithCode(t *testing.T) {
	e := newEnv(t)
	code, err := e.d.CreateSignInCode(e.ctx, e.root)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	wantCode(t, "the code without the form's token", b.post("/ui/login/code", url.Values{"code": {code.Code}}), http.StatusForbidden)
	page := b.get("/ui/login/code?code=" + url.QueryEscape(code.Code))
	wantCode(t, "the link", page, http.StatusOK)
	wantIn(t, "the link", page.body, "Continue", code.Code)
	form := url.Values{"csrf": {csrfOf(t, page.body)}, "code": {code.Code}}
	r := b.post("/ui/login/code", form)
	wantCode(t, "continue", r, http.StatusSeeOther)
	home := b.get("/ui/")
	wantCode(t, "overview", home, http.StatusOK)

	again := e.browser()
	p2 := again.get("/ui/login/code?code=" + url.QueryEscape(code.Code))
	r = again.post("/ui/login/code", url.Values{"csrf": {csrfOf(t, p2.body)}, "code": {code.Code}})
	wantCode(t, "the code a second time", r, http.StatusUnauthorized)
	wantIn(t, "the code a second time", r.body, "wharf ui")

	secret, made := sessionOf(cookieRequest(b))
	if !made {
		t.Error("a code's session is not marked as the dashboard's own token")
	}
	wantCode(t, "sign out", b.post("/ui/logout", url.Values{"csrf": {csrfOf(t, home.body)}}), http.StatusSeeOther)
	if _, err := e.d.Authenticate(e.ctx, secret, ""); err == nil {
		t.Error("the session's token works after signing out")
	}
}

// cookieRequest is a request carrying the browser's dashboard cookies.
func cookieRequest(b *browser) *http.Request {
	r, _ := http.NewRequest("GET", b.e.srv.URL+"/ui/", nil)
	for _, c := range b.jar.Cookies(mustURL(b.e.srv.URL + "/ui/")) {
		r.AddCookie(c)
	}
	return r
}
