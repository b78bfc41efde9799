package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/apiserver"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
)

// realServer is an API server over an embedded etcd of the test's own,
// and its first admin token.
func realServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	e, err := store.StartEmbedded(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	st := store.New(e.Client, "/wharf")
	admin, _, err := domain.Bootstrap(context.Background(), st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := apiserver.New(apiserver.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, admin
}

func runCLIIn(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(io.NopCloser(strings.NewReader(stdin)))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestLoginWhoamiOrgUse: an administrator makes a user; the user logs in
// (the token lands in the config), says who they are, and switches
// organizations with `org use` and --org.
func TestLoginWhoamiOrgUse(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	srv, admin := realServer(t)
	as := []string{"--addr", srv.URL, "--token", admin}
	for _, c := range [][]string{{"user", "create", "ann"}, {"team", "add", "owners", "ann"}, {"org", "create", "b", "--owner", "ann"}} {
		if _, errOut, err := runCLIIn(t, "ann-password\n", append(c, as...)...); err != nil {
			t.Fatalf("%v: %v %s", c, err, errOut)
		}
	}
	if _, _, err := runCLIIn(t, "wrong-password\n", "login", "--addr", srv.URL, "--user", "ann", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "wrong user name or password") {
		t.Fatalf("login with a wrong password: %v", err)
	}
	if _, errOut, err := runCLIIn(t, "ann-password\n", "login", "--addr", srv.URL, "--user", "ann", "--password-stdin"); err != nil || !strings.Contains(errOut, "logged in as ann") {
		t.Fatalf("login: %v %s", err, errOut)
	}
	cfg, err := LoadConfig()
	if err != nil || !strings.HasPrefix(cfg.Token, "wharf_") || cfg.Addr != srv.URL {
		t.Fatalf("config after login: %+v %v", cfg, err)
	}
	out, _, err := runCLIIn(t, "", "whoami")
	if err != nil || !strings.HasPrefix(out, "ann\norganization: default\n") || !strings.Contains(out, "server administrator: yes") || !strings.Contains(out, "member of b") {
		t.Fatalf("whoami: %v\n%s", err, out)
	}
	if _, _, err := runCLIIn(t, "", "org", "use", "b"); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := LoadConfig(); cfg.Org != "b" {
		t.Fatalf("org use b: config %+v", cfg)
	}
	if out, _, err := runCLIIn(t, "", "whoami"); err != nil || !strings.Contains(out, "organization: b\n") {
		t.Fatalf("whoami in b: %v\n%s", err, out)
	}
	if out, _, err := runCLIIn(t, "", "--org", "default", "whoami"); err != nil || !strings.Contains(out, "organization: default\n") {
		t.Fatalf("whoami --org default: %v\n%s", err, out)
	}
	if _, _, err := runCLIIn(t, "", "org", "use", "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("org use nope: %v", err)
	}
	if out, _, err := runCLIIn(t, "", "team", "ls"); err != nil || !strings.Contains(out, "owners") || !strings.Contains(out, "ann") {
		t.Fatalf("team ls: %v\n%s", err, out)
	}
	if _, _, err := runCLIIn(t, "", "logout"); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := LoadConfig(); cfg.Token != "" {
		t.Fatalf("logout left %+v", cfg)
	}
}
