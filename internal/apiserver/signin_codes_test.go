package apiserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestSignInCodeRoute: a token asks for a dashboard sign-in code; without
// one the route is refused.
func TestSignInCodeRoute(t *testing.T) {
	e := newEnv(t)
	var c api.SignInCode
	e.call("POST", "/v1/ui/signin-codes", "", http.StatusCreated, &c)
	if !strings.HasPrefix(c.Code, "wharfui_") || c.Org != "default" || c.ExpiresAt.IsZero() {
		t.Errorf("code %+v", c)
	}
	if code, b := e.do("POST", "/v1/ui/signin-codes", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d %s", code, b)
	}
}
