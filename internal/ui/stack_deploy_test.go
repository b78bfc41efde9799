package ui

import (
	"bytes"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// postCompose sends fields and, when upload is not nil, the file
// "compose.yml" in the field upload, as the deploy form does.
func (b *browser) postCompose(path string, fields url.Values, upload []byte) response {
	b.e.t.Helper()
	return b.sendMultipart(path, func(mw *multipart.Writer) {
		for k, vs := range fields {
			for _, v := range vs {
				_ = mw.WriteField(k, v)
			}
		}
		if upload != nil {
			fw, _ := mw.CreateFormFile("upload", "compose.yml")
			_, _ = fw.Write(upload)
		}
	})
}

const shopCompose = "services:\n  web:\n    image: nginx:${TAG:-1.27}\n    cap_add: [NET_ADMIN]\n  worker:\n    image: busybox\n"

// TestDeployStackForm: an uploaded compose file's plan is shown (nothing
// changes), Apply deploys it; a refused file comes back with the domain's
// message and the user's text; the stack page updates from a file and
// removes the stack once its name is typed.
func TestDeployStackForm(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn(e.admin)
	list := b.get("/ui/stacks")
	wantIn(t, "stacks page", list.body, `id="stack-form"`, `enctype="multipart/form-data"`)
	tok := csrfOf(t, list.body)

	plan := b.postCompose("/ui/stacks/plan", url.Values{"csrf": {tok}, "name": {"shop"}, "vars": {"TAG=1.28\n"}}, []byte(shopCompose))
	wantCode(t, "plan", plan, http.StatusOK)
	wantIn(t, "plan", plan.body, "Plan of shop", "2 to create", "compose.yml:4: services.web.cap_add", `id="apply"`)
	if sts, err := e.d.ListStacks(e.ctx, e.root, domain.Page{}); err != nil || len(sts.Items) != 0 {
		t.Fatalf("the plan deployed: %+v, %v", sts, err)
	}

	// Apply sends what the plan page carries in its hidden fields.
	apply := url.Values{"csrf": {tok}, "name": {"shop"}, "compose": {html.UnescapeString(hiddenValue(t, plan.body, "compose"))}, "vars": {html.UnescapeString(hiddenValue(t, plan.body, "vars"))}}
	r := b.post("/ui/stacks/apply", apply)
	wantCode(t, "apply", r, http.StatusSeeOther)
	st, err := e.d.GetStack(e.ctx, e.root, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if r.hdr.Get("Location") != "/ui/stacks/"+st.ID {
		t.Errorf("apply went to %q", r.hdr.Get("Location"))
	}
	svcs, err := e.d.ListServices(e.ctx, e.root, "shop", domain.Page{})
	if err != nil || len(svcs.Items) != 2 {
		t.Fatalf("services %+v, %v", svcs, err)
	}
	for _, s := range svcs.Items {
		if s.Name == "shop-web" && s.Spec.Image != "nginx:1.28" {
			t.Errorf("web image %q, want nginx:1.28 from the variables", s.Spec.Image)
		}
	}

	// A refusal keeps the text and says what is wrong, where.
	bad := "services:\n  web:\n    image: nginx\n    env_file: /etc/hostname\n"
	r = b.postCompose("/ui/stacks/plan", url.Values{"csrf": {tok}, "name": {"shop"}, "compose": {bad}}, nil)
	wantCode(t, "env_file", r, http.StatusBadRequest)
	wantIn(t, "env_file", r.body, "compose.yaml:4: services.web.env_file", "wharf stack deploy", html.EscapeString(bad))
	r = b.postCompose("/ui/stacks/plan", url.Values{"csrf": {tok}, "name": {"shop"}, "compose": {"services:\n  web:\n    image: ${NOPE}\n"}}, nil)
	wantCode(t, "unset variable", r, http.StatusBadRequest)
	wantIn(t, "unset variable", r.body, "variable NOPE is not set")
	r = b.postCompose("/ui/stacks/plan", url.Values{"csrf": {tok}, "name": {"shop"}, "vars": {"no equals sign"}, "compose": {shopCompose}}, nil)
	wantCode(t, "bad variables", r, http.StatusBadRequest)
	wantIn(t, "bad variables", r.body, "is not NAME=value")

	// Too large a body: its own message, nothing deployed.
	big := bytes.Repeat([]byte("# padding\n"), maxComposeForm/10+1)
	r = b.postCompose("/ui/stacks/plan", url.Values{"csrf": {tok}, "name": {"big"}}, big)
	wantCode(t, "too large", r, http.StatusBadRequest)
	wantIn(t, "too large", r.body, "larger than")

	// The stack's page: update from a file (the name is the stack's).
	page := b.get("/ui/stacks/" + st.ID)
	wantIn(t, "stack page", page.body, "Update from a compose file", `name="stack" value="`+st.ID+`"`, "/ui/stacks/"+st.ID+"/remove")
	r = b.postCompose("/ui/stacks/plan", url.Values{"csrf": {tok}, "stack": {st.ID}, "name": {"other"}, "compose": {"services:\n  web:\n    image: nginx:1.28\n"}}, nil)
	wantCode(t, "update plan", r, http.StatusOK)
	wantIn(t, "update plan", r.body, "Plan of shop", "no longer in the file")

	// Removal, confirmed by name.
	wantIn(t, "remove page", b.get("/ui/stacks/"+st.ID+"/remove").body, "Remove shop?")
	r = b.post("/ui/stacks/"+st.ID+"/remove", url.Values{"csrf": {tok}, "confirm": {"shopp"}})
	wantCode(t, "wrong name", r, http.StatusBadRequest)
	r = b.post("/ui/stacks/"+st.ID+"/remove", url.Values{"csrf": {tok}, "confirm": {"shop"}})
	wantCode(t, "remove", r, http.StatusSeeOther)
	if _, err := e.d.GetStack(e.ctx, e.root, st.ID); err == nil {
		t.Error("the stack is still there")
	}
}

// TestDeployStackReadOnly: a read-only role sees no deploy, update or
// remove form; its forged POSTs, with a valid form token, get the
// domain's 403 and change nothing.
func TestDeployStackReadOnly(t *testing.T) {
	e := newEnv(t)
	res, err := e.d.DeployStack(e.ctx, e.root, "shop", api.StackSpec{Services: []api.StackService{{Name: "web", Spec: api.ServiceSpec{Image: "nginx", Replicas: 1}}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(e.token("viewer", api.RoleReadOnly))
	list := b.get("/ui/stacks")
	wantCode(t, "stacks", list, http.StatusOK)
	page := b.get("/ui/stacks/" + res.Stack.ID)
	for _, p := range []response{list, page} {
		for _, s := range []string{"stack-form", "/ui/stacks/plan", "remove-stack"} {
			if strings.Contains(p.body, s) {
				t.Errorf("the read-only page offers %q", s)
			}
		}
	}
	tok := csrfOf(t, list.body)
	for _, path := range []string{"/ui/stacks/plan", "/ui/stacks/apply"} {
		r := b.postCompose(path, url.Values{"csrf": {tok}, "name": {"evil"}, "compose": {shopCompose}}, nil)
		wantCode(t, "read-only POST "+path, r, http.StatusForbidden)
	}
	r := b.post("/ui/stacks/"+res.Stack.ID+"/remove", url.Values{"csrf": {tok}, "confirm": {"shop"}})
	wantCode(t, "read-only remove", r, http.StatusForbidden)
	if sts, err := e.d.ListStacks(e.ctx, e.root, domain.Page{}); err != nil || len(sts.Items) != 1 {
		t.Fatalf("stacks %+v, %v", sts, err)
	}
}

// hiddenValue is the value of the hidden field name in page (as written,
// HTML-escaped).
func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	marker := `type="hidden" name="` + name + `" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no hidden %s in the page:\n%s", name, page)
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
