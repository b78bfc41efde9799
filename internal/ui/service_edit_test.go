package ui

import (
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func (e *env) imageService(name, image string, env map[string]string) *api.Service {
	e.t.Helper()
	svc, err := e.d.CreateService(e.ctx, e.root, name, api.ServiceSpec{Image: image, Replicas: 1, Env: env})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func (e *env) spec(id string) api.ServiceSpec {
	e.t.Helper()
	svc, err := e.d.GetService(e.ctx, e.root, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc.Spec
}

// editForm opens the edit page and returns its form's fields.
func editForm(t *testing.T, b *browser, id string) url.Values {
	t.Helper()
	page := b.get("/ui/services/" + id + "/edit")
	wantCode(t, "edit page", page, http.StatusOK)
	i := strings.Index(page.body, `name="revision" value="`)
	if i < 0 {
		t.Fatalf("no revision in the edit form:\n%s", page.body)
	}
	rest := page.body[i+len(`name="revision" value="`):]
	rev := rest[:strings.IndexByte(rest, '"')]
	if _, err := strconv.ParseInt(rev, 10, 64); err != nil {
		t.Fatalf("revision %q", rev)
	}
	return url.Values{"csrf": {csrfOf(t, page.body)}, "revision": {rev}}
}

// TestEditService: the edit form shows the service's image and
// environment and changes both through the domain.
func TestEditService(t *testing.T) {
	e := newEnv(t)
	svc := e.imageService("web", "nginx:1.27", map[string]string{"A": "1", "OLD": "x"})
	b := e.signedIn(e.admin)
	wantIn(t, "service page", b.get("/ui/services/"+svc.ID).body, "/ui/services/"+svc.ID+"/edit")
	page := b.get("/ui/services/" + svc.ID + "/edit")
	wantIn(t, "edit page", page.body, `value="nginx:1.27"`, "A=1\nOLD=x\n")

	f := editForm(t, b, svc.ID)
	f.Set("image", " nginx:1.28 ")
	f.Set("env", "A=2\r\n\n# a comment\nGREETING=hello world=yes\n")
	r := b.post("/ui/services/"+svc.ID+"/edit", f)
	wantCode(t, "save", r, http.StatusSeeOther)
	if loc := r.hdr.Get("Location"); loc != "/ui/services/"+svc.ID {
		t.Errorf("redirect to %q", loc)
	}
	sp := e.spec(svc.ID)
	want := map[string]string{"A": "2", "GREETING": "hello world=yes"}
	if sp.Image != "nginx:1.28" || !maps.Equal(sp.Env, want) {
		t.Errorf("after the edit: image %q env %v, want nginx:1.28 %v", sp.Image, sp.Env, want)
	}

	// Emptying the environment removes every variable.
	f = editForm(t, b, svc.ID)
	f.Set("image", "nginx:1.28")
	f.Set("env", "\n")
	wantCode(t, "clear env", b.post("/ui/services/"+svc.ID+"/edit", f), http.StatusSeeOther)
	if sp := e.spec(svc.ID); len(sp.Env) != 0 {
		t.Errorf("env %v after clearing it", sp.Env)
	}
}

// TestEditServiceInvalid: values the domain (or the form's own reading)
// refuses show the form again, with the message and the values sent, as
// a 400 (a change made meanwhile as a 409), and change nothing.
func TestEditServiceInvalid(t *testing.T) {
	e := newEnv(t)
	svc := e.imageService("web", "nginx:1.27", map[string]string{"A": "1"})
	b := e.signedIn(e.admin)
	for _, c := range []struct {
		what, image, env string
		status           int
		msg              string
	}{
		{"image with a space", "nginx 1.28", "A=1", http.StatusBadRequest, "spec.image: must be an image reference without spaces"},
		{"line without =", "nginx:1.27", "A=1\nJUSTANAME", http.StatusBadRequest, `line 2, &#34;JUSTANAME&#34;, is not NAME=value`},
		{"variable twice", "nginx:1.27", "A=1\nA=2", http.StatusBadRequest, "line 2 sets A a second time"},
		{"empty image", "", "A=1", http.StatusBadRequest, "spec.command"},
	} {
		f := editForm(t, b, svc.ID)
		f.Set("image", c.image)
		f.Set("env", c.env)
		r := b.post("/ui/services/"+svc.ID+"/edit", f)
		wantCode(t, c.what, r, c.status)
		wantIn(t, c.what, r.body, c.msg, `data-testid="edit-error"`, `<form method="post" action="/ui/services/`+svc.ID+`/edit"`)
		if c.image != "" {
			wantIn(t, c.what, r.body, `value="`+c.image+`"`)
		}
	}
	// A form rendered before another change is refused as stale.
	f := editForm(t, b, svc.ID)
	if _, err := e.d.ScaleService(e.ctx, e.root, svc.ID, 2, 0); err != nil {
		t.Fatal(err)
	}
	f.Set("image", "nginx:1.29")
	f.Set("env", "A=1")
	r := b.post("/ui/services/"+svc.ID+"/edit", f)
	wantCode(t, "stale form", r, http.StatusConflict)
	wantIn(t, "stale form", r.body, "reload the page")
	if sp := e.spec(svc.ID); sp.Image != "nginx:1.27" || sp.Env["A"] != "1" {
		t.Errorf("refused edits changed the spec: %+v", sp)
	}
}

// TestEditServiceRefused: a read-only user sees no edit link, and a forged
// POST (with the session's valid form token) gets the domain's 403; a POST
// without the form token is refused before the domain is asked.
func TestEditServiceRefused(t *testing.T) {
	e := newEnv(t)
	svc := e.imageService("web", "nginx:1.27", nil)
	ro := e.signedIn(e.token("viewer", api.RoleReadOnly))
	page := ro.get("/ui/services/" + svc.ID)
	if strings.Contains(page.body, "/edit") {
		t.Error("the read-only service page offers the edit form")
	}
	if r := ro.get("/ui/services/" + svc.ID + "/edit"); strings.Contains(r.body, `action="/ui/services/`+svc.ID+`/edit"`) {
		t.Error("the read-only edit page offers the form")
	}
	form := url.Values{"csrf": {csrfOf(t, page.body)}, "revision": {"0"}, "image": {"evil:1"}, "env": {"X=1"}}
	r := ro.post("/ui/services/"+svc.ID+"/edit", form)
	wantCode(t, "read-only edit", r, http.StatusForbidden)
	wantIn(t, "read-only edit", r.body, "read-only")

	admin := e.signedIn(e.admin)
	r = admin.post("/ui/services/"+svc.ID+"/edit", url.Values{"revision": {"0"}, "image": {"evil:1"}})
	wantCode(t, "edit without the form token", r, http.StatusForbidden)
	if sp := e.spec(svc.ID); sp.Image != "nginx:1.27" || len(sp.Env) != 0 {
		t.Errorf("refused edits changed the spec: %+v", sp)
	}
}
