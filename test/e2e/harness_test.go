// Package e2e runs the real wharf binary as processes on loopback: `wharf
// up`, a server with agents, restarts and kills. It builds the binary itself
// unless WHARF_BIN names one.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/testcluster"
	"github.com/wharfhq/wharf/internal/testserver"
)

// wharfBin is the binary under test: $WHARF_BIN, or one built for this run.
var wharfBin string

func TestMain(m *testing.M) {
	hostile.RunProbeChild() // this binary is also the probe run as nobody
	var err error
	if wharfBin, err = testserver.BinaryPath(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testserver.Main(m)
}

// env is an isolated client environment: its own config dir.
type env struct {
	t      *testing.T
	dir    string
	config string
	extra  []string // more environment, such as WHARF_ADDR
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	// An agent run as root runs exec workloads as nobody, who must be able
	// to pass through to their working directories under dir (t.TempDir
	// makes dir's parent 0700).
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, dir: dir, config: filepath.Join(dir, "config")}
}

func (e *env) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHARF_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			out = append(out, kv)
		}
	}
	return append(append(out, "XDG_CONFIG_HOME="+e.config), e.extra...)
}

// wharf runs one CLI command and returns its stdout; it fails the test on
// a non-zero exit.
func (e *env) wharf(args ...string) string {
	e.t.Helper()
	out, err := e.try(args...)
	if err != nil {
		e.t.Fatalf("wharf %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (e *env) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wharfBin, args...)
	cmd.Env = e.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// start runs a long-lived wharf process with its output in a log file.
func (e *env) start(name string, args ...string) *exec.Cmd {
	e.t.Helper()
	logf, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(args) > 0 && args[0] == "agent" && !slices.Contains(args, "--witness-addr") {
		// Several agents share this host: each answers its witnesses on
		// a port of its own (the default, :7445, is one per host).
		args = append(args, "--witness-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(wharfBin, args...)
	cmd.Env = e.environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
		_ = logf.Close()
		if e.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			e.t.Logf("%s.log:\n%s", name, tail(string(b), 40))
		}
	})
	return cmd
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventually polls fn until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	if err := poll(timeout, fn); err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
	return time.Since(start)
}

// poll calls fn until it returns nil, or returns its last error once the
// timeout has passed.
func poll(timeout time.Duration, fn func() error) error {
	start := time.Now()
	var err error
	for time.Since(start) < timeout {
		if err = fn(); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return err
}

func freePort(t *testing.T) int { return testcluster.FreePort(t) }

// listed is the part of `--format json` output the tests read.
type listed struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Node   string `json:"node"`
	Status struct {
		HostPort  int       `json:"host_port"`
		PID       int       `json:"pid"`
		StartedAt time.Time `json:"started_at"`
		Reason    string    `json:"reason"`
	} `json:"status"`
}

func (e *env) list(args ...string) []listed {
	e.t.Helper()
	var out []listed
	if err := json.Unmarshal([]byte(e.wharf(append(args, "--format", "json")...)), &out); err != nil {
		e.t.Fatalf("wharf %v --format json: %v", args, err)
	}
	return out
}

func readPIDFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
