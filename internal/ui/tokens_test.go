package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/seal"
)

// tokenID is the ID of the token named name the actor sees.
func (e *env) tokenID(a domain.Actor, name string) string {
	e.t.Helper()
	l, err := e.d.ListTokens(e.ctx, a, domain.Page{Limit: domain.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range l.Items {
		if t.Name == name {
			return t.ID
		}
	}
	return ""
}

// TestTokensPage: an organization manager sees every token's name, kind,
// role and owner, never a secret; a user who is no manager sees their own
// tokens and deletes one after typing its name; another's token they may
// not delete (no form, and a forged POST is refused); a POST without the
// form token is refused.
func TestTokensPage(t *testing.T) {
	e := newEnv(t)
	ciSecret := e.token("ci", api.RoleDeploy)
	if _, err := e.d.CreateUser(e.ctx, e.root, api.CreateUserRequest{Name: "ann", Password: "ann-password-1"}); err != nil {
		t.Fatal(err)
	}
	members := []string{"ann"}
	if _, err := e.d.CreateTeam(e.ctx, e.root, api.TeamRequest{Name: "dev", Access: map[string]string{"applications": "admin"}, Members: &members}); err != nil {
		t.Fatal(err)
	}
	admin := e.signedIn(e.admin)
	r := admin.get("/ui/tokens")
	wantCode(t, "tokens", r, http.StatusOK)
	wantIn(t, "tokens", r.body, `href="/ui/tokens" aria-current="page"`, "<td class=\"mono\">ci</td>", "<td>deploy</td>", "bearer")
	for _, secret := range []string{ciSecret, e.admin} {
		if strings.Contains(r.body, secret) {
			t.Fatal("the tokens page shows a token's secret")
		}
	}

	ann := e.browser()
	wantCode(t, "ann signs in", ann.signIn("user", "ann", "password", "ann-password-1"), http.StatusSeeOther)
	r = ann.get("/ui/tokens")
	wantCode(t, "ann's tokens", r, http.StatusOK)
	if strings.Contains(r.body, ">ci<") {
		t.Error("a user who is no manager sees another's token")
	}
	csrf := csrfOf(t, r.body)
	ciID := e.tokenID(e.root, "ci")
	r = ann.post("/ui/tokens/"+ciID+"/delete", url.Values{"csrf": {csrf}, "confirm": {"ci"}})
	if r.code != http.StatusForbidden && r.code != http.StatusNotFound {
		t.Errorf("ann deleting another's token: %d, want 403 or 404", r.code)
	}

	// ann's own token: offered, confirmed by name, deleted.
	login, err := e.d.Login(e.ctx, api.LoginRequest{User: "ann", Password: "ann-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	annActor, err := e.d.Authenticate(e.ctx, login.Secret, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.CreateTokenFor(e.ctx, annActor, api.CreateTokenRequest{Name: "scratch", Role: api.RoleReadOnly, TTL: "24h"}); err != nil {
		t.Fatal(err)
	}
	scratchID := e.tokenID(e.root, "scratch")
	r = ann.get("/ui/tokens")
	wantIn(t, "ann's tokens", r.body, ">scratch<", `href="/ui/tokens/`+scratchID+`/delete"`, "<td>read-only</td>")
	r = ann.get("/ui/tokens/" + scratchID + "/delete")
	wantCode(t, "confirm page", r, http.StatusOK)
	wantIn(t, "confirm page", r.body, "Delete token scratch?", `action="/ui/tokens/`+scratchID+`/delete"`)
	r = ann.post("/ui/tokens/"+scratchID+"/delete", url.Values{"csrf": {csrfOf(t, r.body)}, "confirm": {"scratc"}})
	wantCode(t, "wrong confirmation", r, http.StatusBadRequest)
	wantIn(t, "wrong confirmation", r.body, "to confirm its deletion")
	r = ann.post("/ui/tokens/"+scratchID+"/delete", url.Values{"confirm": {"scratch"}})
	wantCode(t, "delete without the form token", r, http.StatusForbidden)
	if e.tokenID(e.root, "scratch") == "" {
		t.Fatal("a refused delete deleted the token")
	}
	r = ann.post("/ui/tokens/"+scratchID+"/delete", url.Values{"csrf": {csrf}, "confirm": {"scratch"}})
	wantCode(t, "delete", r, http.StatusSeeOther)
	if e.tokenID(e.root, "scratch") != "" {
		t.Error("the token was not deleted")
	}
	if e.tokenID(e.root, "ci") == "" {
		t.Error("ann's forged POST deleted the ci token")
	}
}

// TestTokensRefusedToReadOnly: a read-only token (of no user) is shown the
// domain's refusal instead of the list, and its forged delete is refused.
func TestTokensRefusedToReadOnly(t *testing.T) {
	e := newEnv(t)
	e.token("ci", api.RoleDeploy)
	ro := e.signedIn(e.token("viewer", api.RoleReadOnly))
	r := ro.get("/ui/tokens")
	wantCode(t, "read-only tokens", r, http.StatusOK)
	wantIn(t, "read-only tokens", r.body, `role="alert"`)
	if strings.Contains(r.body, ">ci<") || strings.Contains(r.body, "/delete") {
		t.Error("the read-only tokens page lists tokens or offers deletion")
	}
	ciID := e.tokenID(e.root, "ci")
	r = ro.post("/ui/tokens/"+ciID+"/delete", url.Values{"csrf": {csrfOf(t, r.body)}, "confirm": {"ci"}})
	wantCode(t, "read-only delete", r, http.StatusForbidden)
	if e.tokenID(e.root, "ci") == "" {
		t.Error("a refused delete deleted the token")
	}
}

// TestSecretsPage: secrets are listed by name and size; no value appears.
func TestSecretsPage(t *testing.T) {
	e := newEnv(t, func(c *domain.Config) {
		kek, err := seal.NewKEK()
		if err != nil {
			t.Fatal(err)
		}
		if _, c.Sealer, err = seal.CreateKeyring(context.Background(), c.Store, kek, false); err != nil {
			t.Fatal(err)
		}
	})
	const value = "hunter2-TOP-SECRET-VALUE"
	if _, err := e.d.CreateSecret(e.ctx, e.root, "db-password", []byte(value)); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{e.admin, e.token("viewer", api.RoleReadOnly)} {
		r := e.signedIn(tok).get("/ui/secrets")
		wantCode(t, "secrets", r, http.StatusOK)
		wantIn(t, "secrets", r.body, "db-password", "24 bytes", `href="/ui/secrets" aria-current="page"`)
		if strings.Contains(r.body, value) || strings.Contains(r.body, "aHVudGVyMi") {
			t.Fatal("the secrets page shows a secret's value")
		}
	}
}
