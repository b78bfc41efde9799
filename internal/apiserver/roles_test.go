package apiserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// TestTokenRoles: a token made without a role is read-only; a deploy token
// may change services, stacks and containers, but not exec into them, nor
// change nodes, tokens or join tokens; "admin": true still makes an admin
// token; a bad or contradictory role is refused.
func TestTokenRoles(t *testing.T) {
	e := newEnv(t)
	var ro, dep, adm api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"plain"}`, http.StatusCreated, &ro)
	e.call("POST", "/v1/tokens", `{"name":"ci","role":"deploy"}`, http.StatusCreated, &dep)
	e.call("POST", "/v1/tokens", `{"name":"ops","admin":true}`, http.StatusCreated, &adm)
	for _, c := range []struct {
		tok   api.TokenCreated
		role  string
		admin bool
	}{{ro, api.RoleReadOnly, false}, {dep, api.RoleDeploy, false}, {adm, api.RoleAdmin, true}} {
		if c.tok.Role != c.role || c.tok.Admin != c.admin {
			t.Errorf("token %s: role %q admin %v, want %q %v", c.tok.Name, c.tok.Role, c.tok.Admin, c.role, c.admin)
		}
	}
	e.createService("web", 1)
	nodeID := "n1"
	putNode(t, e, nodeID)

	cases := []struct {
		method, path, body string
		roWant, depWant    int
	}{
		{"GET", "/v1/services", "", 200, 200},
		{"POST", "/v1/services", `{"name":"api","spec":{"command":["x"]}}`, 403, 201},
		{"POST", "/v1/services/web/scale", `{"replicas":2}`, 403, 200},
		{"POST", "/v1/services/web/stop", "", 403, 200},
		{"PUT", "/v1/stacks/shop", `{"spec":{"services":[{"name":"db","spec":{"command":["x"]}}]}}`, 403, 201},
		{"PUT", "/v1/stacks/fromtext", `{"compose":"services:\n  web:\n    image: nginx\n"}`, 403, 201},
		{"GET", "/v1/networks", "", 200, 200},
		{"POST", "/v1/networks", `{"name":"back","subnet":"10.8.0.0/16"}`, 403, 201},
		{"DELETE", "/v1/networks/back", "", 403, 204},
		{"POST", "/v1/containers/web-1/exec", `{"cmd":["ls"]}`, 403, 403},
		{"PATCH", "/v1/nodes/" + nodeID, `{"labels":{"a":"b"}}`, 403, 403},
		{"PATCH", "/v1/nodes/" + nodeID, `{"availability":"drain"}`, 403, 403},
		{"DELETE", "/v1/nodes/" + nodeID, "", 403, 403},
		{"GET", "/v1/tokens", "", 403, 403},
		{"POST", "/v1/tokens", `{"name":"more","role":"admin"}`, 403, 403},
		{"POST", "/v1/join-tokens", `{}`, 403, 403},
	}
	for _, c := range cases {
		for _, who := range []struct {
			tok  api.TokenCreated
			want int
		}{{ro, c.roWant}, {dep, c.depWant}} {
			code, b := e.do(c.method, c.path, who.tok.Secret, c.body)
			if code != who.want {
				t.Errorf("%s token: %s %s = %d, want %d: %s", who.tok.Role, c.method, c.path, code, who.want, b)
			}
			if code == 403 && !strings.Contains(string(b), who.tok.Role) {
				t.Errorf("%s token: %s %s: 403 does not say the token's role: %s", who.tok.Role, c.method, c.path, b)
			}
		}
	}
	for _, bad := range []string{`{"name":"x","role":"root"}`, `{"name":"x","role":"read-only","admin":true}`} {
		if code, b := e.do("POST", "/v1/tokens", e.admin, bad); code != http.StatusBadRequest || !strings.Contains(string(b), "role") {
			t.Errorf("POST /v1/tokens %s: %d %s; want 400 about the role", bad, code, b)
		}
	}
}

// TestStoredTokensKeepTheirRole: tokens stored before roles (Role and the
// Admin bool only) keep what they could do; an unknown role is read-only.
func TestStoredTokensKeepTheirRole(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		tok  api.Token
		want int // for POST /v1/services
	}{
		{api.Token{Role: "admin", Admin: true}, http.StatusCreated},
		{api.Token{Role: "read-only"}, http.StatusForbidden},
		{api.Token{Role: "superuser"}, http.StatusForbidden},
		{api.Token{}, http.StatusForbidden},
	} {
		secret, hash, err := pki.NewAPIToken()
		if err != nil {
			t.Fatal(err)
		}
		tok := records.Token{Meta: c.tok.Meta, Role: c.tok.Role, Admin: c.tok.Admin}
		tok.ID, tok.Name, tok.Hash = hashID(hash), "old-"+newID()[:6], hash
		if err := e.st.Create(context.Background(), store.KindTokens, &tok, api.Event{Kind: "token", Object: tok.ID}); err != nil {
			t.Fatal(err)
		}
		if code, b := e.do("POST", "/v1/services", secret, `{"name":"s`+newID()[:6]+`","spec":{"command":["x"]}}`); code != c.want {
			t.Errorf("stored token %+v: POST /v1/services = %d, want %d: %s", c.tok, code, c.want, b)
		}
	}
}
