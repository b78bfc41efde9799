package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/runtime"
)

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	d := newDriver(t, dir)
	notExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		spec    runtime.Spec
		wantErr string
	}{
		{"empty command", runtime.Spec{ID: "c1"}, "Command is empty"},
		{"empty first word", runtime.Spec{ID: "c1", Command: []string{""}}, "Command is empty"},
		{"image", runtime.Spec{ID: "c1", Image: "nginx", Command: []string{"true"}}, "cannot run images"},
		{"not on PATH", runtime.Spec{ID: "c1", Command: []string{"wharf-no-such-command"}}, `"wharf-no-such-command"`},
		{"missing file", runtime.Spec{ID: "c1", Command: []string{"/nonexistent/x"}}, "no such file"},
		{"not executable", runtime.Spec{ID: "c1", Command: []string{notExec}}, "permission denied"},
		{"directory", runtime.Spec{ID: "c1", Command: []string{dir}}, "cannot run command"},
		{"empty ID", runtime.Spec{Command: []string{"true"}}, "container ID"},
		{"dot-dot ID", runtime.Spec{ID: "..", Command: []string{"true"}}, "container ID"},
		{"slash ID", runtime.Spec{ID: "a/b", Command: []string{"true"}}, `character '/'`},
		{"bad env name", runtime.Spec{ID: "c1", Command: []string{"true"}, Env: map[string]string{"A=B": "x"}}, "environment variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := d.Start(ctx10(t), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start = %+v, %v; want an error containing %q", st, err, tt.wantErr)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("a failed Start left %d entries in the driver's directory", len(entries))
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("WHARF_TEST_AGENT_VAR", "from-agent")
	dir := t.TempDir()
	d := newDriver(t, dir)
	spec := shSpec("env-1", `echo "$PORT|$WHARF_CONTAINER_ID|$WHARF_CONTAINER_NAME|$WHARF_SERVICE|$WHARF_SLOT|$WHARF_NODE|$FOO|$WHARF_TEST_AGENT_VAR"; pwd`)
	spec.Slot = 7
	spec.Env = map[string]string{"FOO": "bar baz", "PORT": "1", "WHARF_NODE": "spoofed"}
	st := start(t, d, spec)
	if _, err := d.Wait(ctx10(t), spec.ID); err != nil {
		t.Fatal(err)
	}
	out := waitLogs(t, d, spec.ID, func(s string) bool { return strings.Count(s, "\n") == 2 })
	want := fmt.Sprintf("%d|env-1|svc-1|svc|7|n1|bar baz|from-agent\n%s\n", st.HostPort, filepath.Join(d.dir, "env-1", "work"))
	if out != want {
		t.Errorf("workload saw\n%q\nwant\n%q", out, want)
	}
}

func TestExitCodes(t *testing.T) {
	d := newDriver(t, t.TempDir())
	tests := []struct {
		script    string
		code      int
		wantError string
	}{
		{"exit 0", 0, ""},
		{"exit 3", 3, "exited with code 3"},
		{"exit 255", 255, "exited with code 255"},
		{"kill -TERM $$", 143, "killed by signal 15"},
		{"kill -KILL $$", 137, "killed by signal 9"},
	}
	for i, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			spec := shSpec("exit-"+strconv.Itoa(i), tt.script)
			start(t, d, spec)
			st, err := d.Wait(ctx10(t), spec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.ExitCode != tt.code || !strings.Contains(st.Error, tt.wantError) || (tt.wantError == "") != (st.Error == "") {
				t.Errorf("exit code %d, error %q; want %d and %q", st.ExitCode, st.Error, tt.code, tt.wantError)
			}
		})
	}
}

func TestRestartAppendsLog(t *testing.T) {
	d := newDriver(t, t.TempDir())
	spec := shSpec("again", "echo run")
	for range 2 {
		start(t, d, spec)
		if _, err := d.Wait(ctx10(t), spec.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitLogs(t, d, spec.ID, func(s string) bool { return s == "run\nrun\n" })
}
