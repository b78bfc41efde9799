package install

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// The served agent must be a Linux executable for the server's own
// architecture: /install.sh tells hosts of any other to build from source.
func TestCheckArch(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkArch(self, goruntime.GOARCH); err != nil {
		t.Errorf("this test binary, for %s: %v", goruntime.GOARCH, err)
	}
	other := "arm64"
	if goruntime.GOARCH == other {
		other = "amd64"
	}
	if err := checkArch(self, other); err == nil || !strings.Contains(err.Error(), "not for this server's linux/"+other) {
		t.Errorf("a %s binary passed as %s: %v", goruntime.GOARCH, other, err)
	}
	script := filepath.Join(t.TempDir(), AgentName)
	must(t, os.WriteFile(script, []byte(fakeBinary), 0o755))
	if err := checkArch(script, goruntime.GOARCH); err == nil {
		t.Error("a shell script passed as an executable")
	}
}

// Without wharf-agent beside the server's binary (as here: this test's
// binary has none), the server serves itself and says how to do better.
func TestAgentBinaryFallsBackToItself(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	if _, err := os.Stat(filepath.Join(filepath.Dir(self), AgentName)); err == nil {
		t.Skip("a wharf-agent lies beside this test binary")
	}
	var logs bytes.Buffer
	got := AgentBinary(slog.New(slog.NewTextHandler(&logs, nil)))
	if got != self {
		t.Errorf("AgentBinary = %q, want the running binary %q", got, self)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "make build") {
		t.Errorf("no warning saying how to serve the agent-only build:\n%s", logs.String())
	}
}
