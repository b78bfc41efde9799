package apiserver

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// Join tokens carry an expiry (default api.DefaultJoinTokenTTL, "0" for
// none) and a use limit; admins list them (never their hashes) and revoke
// them; nobody else may.
func TestJoinTokenLimitsListAndRevoke(t *testing.T) {
	e := newEnv(t)
	var def, bounded, forever api.JoinTokenCreated
	e.call("POST", "/v1/join-tokens", "", http.StatusCreated, &def)
	if d := time.Until(def.ExpiresAt); d < api.DefaultJoinTokenTTL-time.Minute || d > api.DefaultJoinTokenTTL || def.MaxUses != 0 || def.ID == "" {
		t.Fatalf("default join token: %+v", def.JoinToken)
	}
	e.call("POST", "/v1/join-tokens", `{"ttl":"2h","max_uses":5}`, http.StatusCreated, &bounded)
	if d := time.Until(bounded.ExpiresAt); d < 2*time.Hour-time.Minute || d > 2*time.Hour || bounded.MaxUses != 5 {
		t.Fatalf("2h, 5 uses: %+v", bounded.JoinToken)
	}
	e.call("POST", "/v1/join-tokens", `{"ttl":"0"}`, http.StatusCreated, &forever)
	if !forever.ExpiresAt.IsZero() {
		t.Fatalf("ttl 0: expires %s", forever.ExpiresAt)
	}
	for body, field := range map[string]string{`{"ttl":"soon"}`: "ttl", `{"ttl":"-1h"}`: "ttl", `{"max_uses":-1}`: "max_uses", `{"max_uses":9223372036854775807}`: "max_uses"} {
		code, b := e.do("POST", "/v1/join-tokens", e.admin, body)
		if code != http.StatusBadRequest || !strings.Contains(string(b), field) {
			t.Errorf("%s: %d %s, want 400 naming %s", body, code, b, field)
		}
	}

	var l api.List[api.JoinToken]
	e.call("GET", "/v1/join-tokens", "", http.StatusOK, &l)
	if len(l.Items) != 3 {
		t.Fatalf("listed %d join tokens, want 3", len(l.Items))
	}
	if code, b := e.do("GET", "/v1/join-tokens", e.admin, ""); code != http.StatusOK || strings.Contains(string(b), `"hash"`) {
		t.Errorf("join tokens listed with their hashes: %d %s", code, b)
	}

	// Read-only tokens can neither list nor revoke nor make join tokens.
	var ro api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"viewer"}`, http.StatusCreated, &ro)
	for _, m := range []struct{ method, path string }{
		{"GET", "/v1/join-tokens"}, {"DELETE", "/v1/join-tokens/" + def.ID}, {"POST", "/v1/join-tokens"},
	} {
		if code, b := e.do(m.method, m.path, ro.Secret, ""); code != http.StatusForbidden {
			t.Errorf("read-only %s %s: %d %s, want 403", m.method, m.path, code, b)
		}
	}

	e.call("DELETE", "/v1/join-tokens/"+def.ID, "", http.StatusNoContent, nil)
	if code, b := e.do("DELETE", "/v1/join-tokens/"+def.ID, e.admin, ""); code != http.StatusNotFound {
		t.Errorf("revoking twice: %d %s, want 404", code, b)
	}
	e.call("GET", "/v1/join-tokens", "", http.StatusOK, &l)
	if len(l.Items) != 2 {
		t.Fatalf("%d join tokens after revoking one, want 2", len(l.Items))
	}
}
