package ui

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

var tokenSecretRE = regexp.MustCompile(`id="token-secret" class="mono">([^<]+)</pre>`)

// TestCreateToken: the new-token form makes a token of the role and
// lifetime asked for; its secret is on the answer's page once, with a Copy
// button, and in no later page nor the event stream. A bad lifetime shows
// the form again with the domain's message.
func TestCreateToken(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.admin)
	r := b.get("/ui/tokens")
	wantIn(t, "tokens", r.body, `href="/ui/tokens/new"`)
	r = b.get("/ui/tokens/new")
	wantCode(t, "new token form", r, http.StatusOK)
	csrf := csrfOf(t, r.body)
	wantIn(t, "new token form", r.body, `<label for="name">`, `<label for="role">`, `<label for="ttl">`)

	r = b.post("/ui/tokens", url.Values{"csrf": {csrf}, "name": {"ci"}, "role": {"deploy"}, "ttl": {"soon"}})
	wantCode(t, "a bad lifetime", r, http.StatusBadRequest)
	wantIn(t, "a bad lifetime", r.body, `id="token-error"`, "not a positive duration", `value="ci"`)

	sc, stop := openStream(t, b)
	defer stop()
	r = b.post("/ui/tokens", url.Values{"csrf": {csrf}, "name": {"ci"}, "role": {"deploy"}, "ttl": {"24h"}})
	wantCode(t, "create token", r, http.StatusOK)
	if cc := r.hdr.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the secret: Cache-Control %q, want no-store", cc)
	}
	m := tokenSecretRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret on the created page:\n%s", r.body)
	}
	secret := m[1]
	wantIn(t, "created", r.body, `data-copy="token-secret"`, "shown this once", "Role deploy")
	a, err := e.d.Authenticate(e.ctx, secret, "")
	if err != nil || a.Role != api.RoleDeploy {
		t.Fatalf("the new token: %+v, %v", a, err)
	}
	typ, data := next(sc)
	if typ != "change" || !strings.Contains(data, `"kind":"token"`) {
		t.Errorf("stream after the token: %s %s", typ, data)
	}
	if strings.Contains(data, secret) {
		t.Fatal("the event stream carries the token's secret")
	}
	for _, p := range []string{"/ui/tokens", "/ui/tokens/new", "/ui/audit", "/ui/events", "/ui/"} {
		if r := b.get(p); strings.Contains(r.body, secret) {
			t.Fatalf("%s shows the token's secret again", p)
		}
	}
}

// TestCreateTokenReadOnly: a read-only token is offered no form, and a
// forged POST gets the domain's 403 and makes no token.
func TestCreateTokenReadOnly(t *testing.T) {
	e := newEnv(t)
	ro := e.signedIn(e.token("viewer", api.RoleReadOnly))
	r := ro.get("/ui/tokens")
	if strings.Contains(r.body, `href="/ui/tokens/new"`) {
		t.Error("a read-only token is offered the new-token form")
	}
	r = ro.get("/ui/tokens/new")
	wantCode(t, "read-only form", r, http.StatusOK)
	if strings.Contains(r.body, `action="/ui/tokens"`) {
		t.Error("the new-token page shows its form to a read-only token")
	}
	r = ro.post("/ui/tokens", url.Values{"csrf": {csrfOf(t, r.body)}, "name": {"sneaky"}, "role": {"admin"}})
	wantCode(t, "forged create", r, http.StatusForbidden)
	if e.tokenID(e.root, "sneaky") != "" {
		t.Error("a refused POST made a token")
	}
}

// sealedEnv is an env whose domain can seal secrets, and its sealer.
func sealedEnv(t *testing.T) (*env, *seal.Sealer) {
	var s *seal.Sealer
	e := newEnv(t, func(c *domain.Config) {
		kek, err := seal.NewKEK()
		if err != nil {
			t.Fatal(err)
		}
		if _, c.Sealer, err = seal.CreateKeyring(context.Background(), c.Store, kek, false); err != nil {
			t.Fatal(err)
		}
		s = c.Sealer
	})
	return e, s
}

// secretValueOf opens the stored value of secret name (the test's look
// behind the domain: no page may show it).
func secretValueOf(t *testing.T, e *env, s *seal.Sealer, name string) string {
	t.Helper()
	sec, err := e.d.GetSecret(e.ctx, e.root, name)
	if err != nil {
		t.Fatal(err)
	}
	var rec records.Secret
	if err := e.st.Get(e.ctx, store.KindSecrets, sec.ID, &rec); err != nil {
		t.Fatal(err)
	}
	v, err := s.Open(records.SealPurpose(rec.Org, rec.Name), rec.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// postMultipart sends fields and one file (when fileName is set) as a
// browser's multipart form.
func (b *browser) postMultipart(path string, fields map[string]string, fileName, fileData string) response {
	b.e.t.Helper()
	return b.sendMultipart(path, func(mw *multipart.Writer) {
		for k, v := range fields {
			_ = mw.WriteField(k, v)
		}
		if fileName != "" {
			fw, _ := mw.CreateFormFile("file", fileName)
			_, _ = fw.Write([]byte(fileData))
		}
	})
}

// sendMultipart POSTs the multipart form write fills, from the same
// origin, as a browser does.
func (b *browser) sendMultipart(path string, write func(*multipart.Writer)) response {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	write(mw)
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.e.srv.URL+path, &buf)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.e.srv.URL)
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(rb)}
}

// TestSecretForms: a secret made from the textarea and one from a file
// hold exactly what was sent; an update replaces the value and raises the
// version; deletion needs the name typed. No page, redirect or refusal
// shows a value.
func TestSecretForms(t *testing.T) {
	e, s := sealedEnv(t)
	b := e.signedIn(e.admin)
	r := b.get("/ui/secrets/new")
	wantCode(t, "new secret form", r, http.StatusOK)
	csrf := csrfOf(t, r.body)
	wantIn(t, "new secret form", r.body, `enctype="multipart/form-data"`, `<label for="value">`, `<label for="file">`)

	const typed, uploaded, updated = "line one\nTYPED-VALUE-123", "FILE-VALUE-\x00-456", "UPDATED-VALUE-789"
	r = b.postMultipart("/ui/secrets", map[string]string{"csrf": csrf, "name": "db-password", "value": strings.ReplaceAll(typed, "\n", "\r\n")}, "", "")
	wantCode(t, "create from the textarea", r, http.StatusSeeOther)
	r = b.postMultipart("/ui/secrets", map[string]string{"csrf": csrf, "name": "tls-key", "value": "ignored"}, "key.pem", uploaded)
	wantCode(t, "create from a file", r, http.StatusSeeOther)
	if got := secretValueOf(t, e, s, "db-password"); got != typed {
		t.Errorf("db-password = %q, want %q", got, typed)
	}
	if got := secretValueOf(t, e, s, "tls-key"); got != uploaded {
		t.Errorf("tls-key = %q, want the file's %q", got, uploaded)
	}
	// A refusal shows the form again, empty of the value.
	r = b.postMultipart("/ui/secrets", map[string]string{"csrf": csrf, "name": "db-password", "value": "ANOTHER-VALUE-000"}, "", "")
	wantCode(t, "a name taken", r, http.StatusConflict)
	wantIn(t, "a name taken", r.body, `id="secret-error"`, "already exists")
	r2 := b.post("/ui/secrets", url.Values{"csrf": {csrf}, "name": {"empty"}, "value": {""}})
	wantCode(t, "an empty value", r2, http.StatusBadRequest)
	r = b.postMultipart("/ui/secrets", map[string]string{"csrf": csrf, "name": "big"}, "big.bin", strings.Repeat("x", 600<<10))
	wantCode(t, "a file over the secret's limit", r, http.StatusBadRequest)
	wantIn(t, "a file over the secret's limit", r.body, "secret-error")
	r = b.postMultipart("/ui/secrets", map[string]string{"csrf": csrf, "name": "huge"}, "huge.bin", strings.Repeat("x", 2<<20))
	wantCode(t, "a form over the form's limit", r, http.StatusBadRequest)
	wantIn(t, "a form over the form's limit", r.body, "larger than")

	sec, err := e.d.GetSecret(e.ctx, e.root, "db-password")
	if err != nil {
		t.Fatal(err)
	}
	r = b.get("/ui/secrets/" + sec.ID + "/edit")
	wantCode(t, "update form", r, http.StatusOK)
	r = b.post("/ui/secrets/"+sec.ID, url.Values{"csrf": {csrf}, "value": {updated}, "revision": {"1"}})
	wantCode(t, "a stale revision", r, http.StatusConflict)
	r = b.post("/ui/secrets/"+sec.ID, url.Values{"csrf": {csrf}, "value": {updated}})
	wantCode(t, "update", r, http.StatusSeeOther)
	if got := secretValueOf(t, e, s, "db-password"); got != updated {
		t.Errorf("after the update: %q", got)
	}
	list := b.get("/ui/secrets?updated=db-password")
	wantIn(t, "secrets", list.body, "Secret db-password updated", `href="/ui/secrets/new"`, "/edit", "/delete")
	for _, page := range []response{r, r2, list, b.get("/ui/secrets/" + sec.ID + "/edit"), b.get("/ui/secrets/" + sec.ID + "/delete"), b.get("/ui/events"), b.get("/ui/audit")} {
		for _, v := range []string{"TYPED-VALUE", "FILE-VALUE", "UPDATED-VALUE", "ANOTHER-VALUE"} {
			if strings.Contains(page.body, v) || strings.Contains(page.hdr.Get("Location"), v) {
				t.Fatalf("a page shows a secret's value %q:\n%s", v, page.body)
			}
		}
	}

	r = b.post("/ui/secrets/"+sec.ID+"/delete", url.Values{"csrf": {csrf}, "confirm": {"db"}})
	wantCode(t, "delete, wrong name", r, http.StatusBadRequest)
	r = b.post("/ui/secrets/"+sec.ID+"/delete", url.Values{"csrf": {csrf}, "confirm": {"db-password"}})
	wantCode(t, "delete", r, http.StatusSeeOther)
	if _, err := e.d.GetSecret(e.ctx, e.root, "db-password"); err == nil {
		t.Error("the secret is still there")
	}
}

// TestSecretFormsReadOnly: a read-only token is offered no button, and
// forged POSTs get the domain's 403 and change nothing.
func TestSecretFormsReadOnly(t *testing.T) {
	e, s := sealedEnv(t)
	if _, err := e.d.CreateSecret(e.ctx, e.root, "db-password", []byte("KEEP-ME")); err != nil {
		t.Fatal(err)
	}
	sec, _ := e.d.GetSecret(e.ctx, e.root, "db-password")
	ro := e.signedIn(e.token("viewer", api.RoleReadOnly))
	r := ro.get("/ui/secrets")
	wantIn(t, "read-only secrets", r.body, "db-password")
	for _, button := range []string{"/ui/secrets/new", "/edit", "/delete"} {
		if strings.Contains(r.body, button) {
			t.Errorf("a read-only token is offered %s", button)
		}
	}
	csrf := csrfOf(t, r.body)
	wantCode(t, "forged create", ro.post("/ui/secrets", url.Values{"csrf": {csrf}, "name": {"x"}, "value": {"y"}}), http.StatusForbidden)
	wantCode(t, "forged update", ro.post("/ui/secrets/"+sec.ID, url.Values{"csrf": {csrf}, "value": {"CHANGED"}}), http.StatusForbidden)
	wantCode(t, "forged delete", ro.post("/ui/secrets/"+sec.ID+"/delete", url.Values{"csrf": {csrf}, "confirm": {"db-password"}}), http.StatusForbidden)
	if got := secretValueOf(t, e, s, "db-password"); got != "KEEP-ME" {
		t.Errorf("after refused POSTs: %q", got)
	}
	if _, err := e.d.GetSecret(e.ctx, e.root, "x"); err == nil {
		t.Error("a refused POST made a secret")
	}
}

// TestCreateTokenDefaultRole: the form offers read-only first, and a
// user's admin token made with it acts with all of the user's access.
func TestCreateTokenDefaultRole(t *testing.T) {
	e := newEnv(t)
	r := e.signedIn(e.admin).get("/ui/tokens/new")
	wantIn(t, "new token form", r.body, `<option value="read-only" selected>`)
	e.user("ann")
	if _, err := e.d.AddMember(e.ctx, e.root, "owners", "ann"); err != nil {
		t.Fatal(err)
	}
	ann := e.browser()
	wantCode(t, "ann signs in", ann.signIn("user", "ann", "password", "ann-password-1"), http.StatusSeeOther)
	r = ann.get("/ui/tokens/new")
	r = ann.post("/ui/tokens", url.Values{"csrf": {csrfOf(t, r.body)}, "name": {"laptop"}, "role": {"admin"}})
	wantCode(t, "ann's token", r, http.StatusOK)
	m := tokenSecretRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret:\n%s", r.body)
	}
	a, err := e.d.Authenticate(e.ctx, m[1], "")
	if err != nil || a.User != "ann" || !a.MayCreateToken() {
		t.Fatalf("ann's admin token: %+v %v", a, err)
	}
}
