package apiserver

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/throttle"
)

// login logs a user in over HTTP and returns the token's secret.
func (e *env) login(user, pw string) string {
	e.t.Helper()
	code, b := e.do("POST", "/v1/login", "", `{"user":"`+user+`","password":"`+pw+`"}`)
	var tc api.TokenCreated
	if code != 201 || json.Unmarshal(b, &tc) != nil || tc.Secret == "" {
		e.t.Fatalf("login %s: %d %s", user, code, b)
	}
	return tc.Secret
}

// TestLoginOverHTTP: login is public, answers a token of the user; a
// wrong user and a wrong password get the same 401, and count against the
// source like wrong API tokens.
func TestLoginOverHTTP(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.cfg.Throttle = throttle.New(throttle.Config{Failures: 3}) })
	e.call("POST", "/v1/users", `{"name":"ann","password":"ann-password"}`, 201, nil)
	e.call("POST", "/v1/teams/owners/members", `{"user":"ann"}`, 200, nil)
	ann := e.login("ann", "ann-password")
	code, b := e.do("GET", "/v1/me", ann, "")
	var me api.Me
	if code != 200 || json.Unmarshal(b, &me) != nil || me.User != "ann" || me.Org != "default" || !me.ServerAdmin || len(me.Orgs) != 1 {
		t.Fatalf("GET /v1/me: %d %s", code, b)
	}
	c1, b1 := e.do("POST", "/v1/login", "", `{"user":"ann","password":"wrong"}`)
	c2, b2 := e.do("POST", "/v1/login", "", `{"user":"bob","password":"ann-password"}`)
	if c1 != 401 || c2 != 401 || string(b1) != string(b2) {
		t.Errorf("failed logins: %d %s / %d %s", c1, b1, c2, b2)
	}
	e.do("POST", "/v1/login", "", `{"user":"bob","password":"x"}`)
	if code, b := e.do("POST", "/v1/login", "", `{"user":"ann","password":"ann-password"}`); code != 429 {
		t.Errorf("login after three failures: %d %s, want 429", code, b)
	}
}

// TestUsersOverHTTP: GET /v1/users never shows a password's hash; a user
// who is not an administrator cannot make users; a member of A asking for
// B gets 404.
func TestUsersOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/v1/users", `{"name":"ann","password":"ann-password"}`, 201, nil)
	e.call("POST", "/v1/orgs", `{"name":"a","owner":"ann"}`, 201, nil)
	e.call("POST", "/v1/orgs", `{"name":"b","owner":"ann"}`, 201, nil)
	e.call("POST", "/v1/users", `{"name":"bob","password":"bob-password"}`, 201, nil)
	_, b := e.do("GET", "/v1/users", e.admin, "")
	if !strings.Contains(string(b), `"ann"`) || strings.Contains(string(b), "argon2") || strings.Contains(string(b), "hash") {
		t.Errorf("GET /v1/users: %s", b)
	}
	ann := e.login("ann", "ann-password")
	if code, b := e.do("GET", "/v1/teams", ann, ""); code != 400 || !strings.Contains(string(b), "several organizations") {
		t.Errorf("a user of several organizations without Wharf-Org: %d %s", code, b)
	}
	e.do("POST", "/v1/teams", ann, `{"name":"dev","access":{"applications":"read"},"members":["bob"]}`, api.OrgHeader, "a")
	bob := e.login("bob", "bob-password")
	if code, b := e.do("GET", "/v1/services", bob, "", api.OrgHeader, "b"); code != 404 || !strings.Contains(string(b), `organization \"b\" not found`) {
		t.Errorf("a member of a in b: %d %s, want 404", code, b)
	}
	if code, _ := e.do("GET", "/v1/services", bob, ""); code != 200 {
		t.Errorf("bob in his organization: %d", code)
	}
	if code, b := e.do("POST", "/v1/users", bob, `{"name":"eve","password":"eve-password"}`); code != 403 {
		t.Errorf("bob makes a user: %d %s", code, b)
	}
	if code, b := e.do("POST", "/v1/orgs", ann, `{"name":"c","owner":"ann"}`, api.OrgHeader, "a"); code != 403 {
		t.Errorf("ann, an owner of a, makes an organization: %d %s", code, b)
	}
	if code, b := e.do("POST", "/v1/services", bob, `{"name":"web","spec":{"image":"nginx"}}`); code != 403 {
		t.Errorf("bob, read access, makes a service: %d %s", code, b)
	}
	if code, b := e.do("GET", "/v1/services", e.admin, "", api.OrgHeader, "a"); code != 403 || !strings.Contains(string(b), "belongs to organization") {
		t.Errorf("the admin token in a: %d %s", code, b)
	}
}

// TestTokenRateOverHTTP: over its organization's token rate, a token gets
// 429 with Retry-After.
func TestTokenRateOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.call("PATCH", "/v1/orgs/default", `{"quotas":{"token_rate":0.5}}`, 200, nil)
	var last *http.Response
	for range 3 {
		req, _ := http.NewRequest("GET", e.srv.URL+"/v1/services", nil)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
	}
	if last.StatusCode != 429 {
		t.Fatalf("third call at 0.5/s: %d, want 429", last.StatusCode)
	}
	if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After: %q", last.Header.Get("Retry-After"))
	}
}
