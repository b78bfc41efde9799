package cli

import (
	"strings"
	"testing"
)

// TestCompletion: nouns, verbs, flags, enumeration values and live names
// from the API complete; `wharf completion bash|zsh|fish` print scripts.
func TestCompletion(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	srv, admin := realServer(t)
	t.Setenv("WHARF_ADDR", srv.URL)
	t.Setenv("WHARF_TOKEN", admin)
	for _, name := range []string{"web", "worker", "db"} {
		if _, _, err := runCLI(t, "service", "create", "--detach", "--name", name, "--driver", "exec", "--replicas", "0", "--", "sleep", "1"); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(args ...string) string {
		t.Helper()
		out, _, err := runCLI(t, append([]string{"__complete"}, args...)...)
		if err != nil {
			t.Fatalf("__complete %v: %v", args, err)
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"servi"}, "service\tManage services (replicated workloads)\n:4\n"},
		{[]string{"service", "sc"}, "scale\tSet a service's number of containers\n:4\n"},
		{[]string{"service", "rm", "w"}, "web\nworker\n:4\n"},
		{[]string{"service", "rm", "web", ""}, "db\nworker\n:4\n"},
		{[]string{"service", "scale", "d"}, "db\n:4\n"},
		{[]string{"service", "scale", "db", ""}, ":4\n"},
		{[]string{"service", "inspect", "db", "wo"}, "worker\n:4\n"},
		{[]string{"service", "create", "--strategy", "e"}, "EMPTIEST_NODE\nEVERY_NODE\n:4\n"},
		{[]string{"service", "update", "web", "--failure-action", ""}, "rollback\npause\n:4\n"},
	} {
		if got := complete(c.args...); got != c.want {
			t.Errorf("__complete %q = %q, want %q", c.args, got, c.want)
		}
	}
	if got := complete("service", "create", "--strat"); !strings.HasPrefix(got, "--strategy\t") {
		t.Errorf("flag completion: %q", got)
	}
	for shell, want := range map[string]string{"bash": "__start_wharf", "powershell": "Register-ArgumentCompleter", "zsh": "#compdef wharf", "fish": "complete -c wharf"} {
		out, _, err := runCLI(t, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, %d bytes without %q", shell, err, len(out), want)
		}
	}
}
