package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestUILink: `wharf ui` asks for a sign-in code with its token and
// prints the dashboard link that carries it, alone on stdout.
func TestUILink(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var auth, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.Method+" "+r.URL.Path
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(api.SignInCode{Code: "wharfui_abc", ExpiresAt: time.Now().Add(time.Minute), Org: "default"})
	}))
	defer srv.Close()
	out, errOut, err := runCLI(t, "ui", "--addr", srv.URL, "--token", "wharf_t")
	if err != nil {
		t.Fatal(err)
	}
	if path != "POST /v1/ui/signin-codes" || auth != "Bearer wharf_t" {
		t.Errorf("asked %s with %q", path, auth)
	}
	if out != srv.URL+"/ui/login/code?code=wharfui_abc\n" || !strings.Contains(errOut, "within a minute") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
}
