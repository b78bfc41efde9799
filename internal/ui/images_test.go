package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/registry/registrytest"
)

// registryEnv is an env whose domain has a real built-in registry (on a
// temporary directory), and a function that pushes an image to it.
func registryEnv(t *testing.T) (*env, func(repo, tag, content string) string) {
	reg, err := registry.New(t.Context(), registry.Config{Dir: t.TempDir(), HTTPSecret: "ui-pages test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	e := newEnv(t, func(c *domain.Config) { c.Images, c.RegistryHost = reg, "reg.test:5000" })
	return e, func(repo, tag, content string) string {
		return registrytest.Push(t, srv.Client(), srv.URL, nil, repo, tag, content)
	}
}

// TestImagesPage: the organization's tags are listed with digest and
// size (another organization's are not); an admin removes one after
// typing its reference, a wrong reference is refused and removes nothing.
func TestImagesPage(t *testing.T) {
	e, push := registryEnv(t)
	d1 := push("default/app", "v1", "one")
	push("default/app", "v2", "two")
	push("other/secret-app", "v1", "three")
	b := e.signedIn(e.admin)
	r := b.get("/ui/images")
	wantCode(t, "images", r, http.StatusOK)
	wantIn(t, "images", r.body, `href="/ui/images" aria-current="page"`, "default/app", ">v1<", ">v2<", d1[:19], " B</td>", "reg.test:5000",
		`href="/ui/images/remove?ref=default%2fapp%3av1"`)
	if strings.Contains(r.body, "secret-app") {
		t.Fatal("the images page shows another organization's repository")
	}
	r = b.get("/ui/images/remove?ref=default%2fapp%3av1")
	wantCode(t, "confirm page", r, http.StatusOK)
	csrf := csrfOf(t, r.body)
	wantIn(t, "confirm page", r.body, `<label for="confirm">`, "default/app:v1")
	r = b.post("/ui/images/remove", url.Values{"csrf": {csrf}, "ref": {"default/app:v1"}, "confirm": {"app:v1"}})
	wantCode(t, "a wrong confirmation", r, http.StatusBadRequest)
	r = b.post("/ui/images/remove", url.Values{"csrf": {csrf}, "ref": {"other/secret-app:v1"}, "confirm": {"other/secret-app:v1"}})
	wantCode(t, "another organization's", r, http.StatusNotFound)
	r = b.post("/ui/images/remove", url.Values{"csrf": {csrf}, "ref": {"default/app:v1"}, "confirm": {"default/app:v1"}})
	wantCode(t, "remove", r, http.StatusSeeOther)
	r = b.get(r.hdr.Get("Location"))
	wantIn(t, "after remove", r.body, "Removed default/app:v1", ">v2<")
	if strings.Contains(r.body, ">v1<") {
		t.Error("v1 is still listed")
	}
}

// TestImagesReadOnly: a read-only token sees the images with no remove
// button, and a forged POST gets the domain's 403; a server without a
// registry says so on the page.
func TestImagesReadOnly(t *testing.T) {
	e, push := registryEnv(t)
	push("default/app", "v1", "one")
	ro := e.signedIn(e.token("viewer", api.RoleReadOnly))
	r := ro.get("/ui/images")
	wantCode(t, "read-only images", r, http.StatusOK)
	wantIn(t, "read-only images", r.body, "default/app", ">v1<")
	if strings.Contains(r.body, "/ui/images/remove") {
		t.Error("a read-only token is offered the remove button")
	}
	r = ro.post("/ui/images/remove", url.Values{"csrf": {csrfOf(t, r.body)}, "ref": {"default/app:v1"}, "confirm": {"default/app:v1"}})
	wantCode(t, "forged remove", r, http.StatusForbidden)
	if l, err := e.d.ListImages(e.ctx, e.root); err != nil || len(l.Items) != 1 {
		t.Errorf("images after a refused remove: %+v %v", l.Items, err)
	}

	plain := newEnv(t)
	r = plain.signedIn(plain.admin).get("/ui/images")
	wantCode(t, "no registry", r, http.StatusOK)
	wantIn(t, "no registry", r.body, "runs no built-in registry")
}
