package agentcmd

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The token sources, first found wins: --token, --token-file,
// $WHARF_JOIN_TOKEN, token_file, token (the config file's).
func TestAgentJoinTokenSources(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "agent.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	resolve := func(args ...string) agentFlags {
		t.Helper()
		cmd := newAgentCmd()
		if err := cmd.ParseFlags(append([]string{"--config", cfgPath}, args...)); err != nil {
			t.Fatal(err)
		}
		var o agentFlags
		// Re-read the parsed values through the command's flags.
		f := cmd.Flags()
		o.config, _ = f.GetString("config")
		o.cfg.JoinToken, _ = f.GetString("token")
		o.cfg.JoinTokenFile, _ = f.GetString("token-file")
		o.cfg.ServerURL, _ = f.GetString("server")
		o.cfg.Logger = slog.New(slog.DiscardHandler)
		if err := o.resolve(cmd); err != nil {
			t.Fatal(err)
		}
		return o
	}

	write("server: https://s:7443\ntoken: from-config\ntoken_file: /etc/wharf/join-token\n")
	t.Setenv(joinTokenEnv, "")
	if o := resolve(); o.cfg.JoinTokenFile != "/etc/wharf/join-token" || o.cfg.JoinToken != "" {
		t.Errorf("token_file should beat token: %q %q", o.cfg.JoinToken, o.cfg.JoinTokenFile)
	}
	t.Setenv(joinTokenEnv, "from-env")
	if o := resolve(); o.cfg.JoinToken != "from-env" || o.cfg.JoinTokenFile != "" {
		t.Errorf("the environment should beat the config file: %q %q", o.cfg.JoinToken, o.cfg.JoinTokenFile)
	}
	if o := resolve("--token-file", "/run/tok"); o.cfg.JoinTokenFile != "/run/tok" || o.cfg.JoinToken != "" {
		t.Errorf("--token-file should beat the environment: %q %q", o.cfg.JoinToken, o.cfg.JoinTokenFile)
	}
	if o := resolve("--token", "from-flag", "--token-file", "/run/tok"); o.cfg.JoinToken != "from-flag" || o.cfg.JoinTokenFile != "" {
		t.Errorf("--token should beat everything: %q %q", o.cfg.JoinToken, o.cfg.JoinTokenFile)
	}
	t.Setenv(joinTokenEnv, "")
	write("server: https://s:7443\ntoken: from-config\n")
	o := resolve()
	if o.cfg.JoinToken != "from-config" || o.cfg.Joined == nil {
		t.Fatalf("an older install's token: %q, hook set %t", o.cfg.JoinToken, o.cfg.Joined != nil)
	}
}

// Once joined, an older install's token: line leaves the agent's config
// file; every other key and the comments stay, and so does the file mode.
func TestDropConfigToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.yaml")
	in := "# written by install.sh\nserver: https://wharf.example.com:7443\ntoken: WHARF-1-abc-secret\ndata_dir: /var/lib/wharf/agent\nlabels:\n  zone: a # the rack\nenable_exec: true\n"
	if err := os.WriteFile(path, []byte(in), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := dropConfigToken(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if strings.Contains(out, "token") || strings.Contains(out, "WHARF-1") {
		t.Fatalf("token still in the config:\n%s", out)
	}
	for _, keep := range []string{"# written by install.sh", "server: https://wharf.example.com:7443", "data_dir: /var/lib/wharf/agent", "zone: a # the rack", "enable_exec: true"} {
		if !strings.Contains(out, keep) {
			t.Errorf("lost %q:\n%s", keep, out)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	file, _, err := readAgentFile(path)
	if err != nil || file.Server != "https://wharf.example.com:7443" || file.Labels["zone"] != "a" || !file.EnableExec {
		t.Fatalf("rewritten config reads as %+v %v", file, err)
	}
	// Nothing to drop: the file is left alone.
	if err := dropConfigToken(path); err != nil {
		t.Fatal(err)
	}
}
