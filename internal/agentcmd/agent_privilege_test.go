package agentcmd

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/runtime"
)

// TestAgentExecDefaultsToNobody: an agent run as root with --enable-exec
// and no other flag runs its exec workloads as an unprivileged user, with
// no new privileges: the workload cannot read /etc/shadow.
func TestAgentExecDefaultsToNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the default exec user applies to agents run as root")
	}
	base := t.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o711); err != nil { // t.TempDir's parent is 0700
		t.Fatal(err)
	}
	var o agentFlags
	o.enableExec = true
	o.dockerHost = "unix:///nonexistent/docker.sock" // exec only
	o.cfg.DataDir = filepath.Join(base, "agent")
	drivers, err := o.drivers(t.Context(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var d runtime.Driver
	for _, x := range drivers {
		if x.Name() == "exec" {
			d = x
		}
	}
	if d == nil {
		t.Fatalf("no exec driver among %v", drivers)
	}
	spec := runtime.Spec{ID: "who", Name: "who-1", Service: "who", Slot: 1, Command: hostile.WhoAmICommand()}
	if _, err := d.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	// t.Context() is already cancelled when cleanups run: remove the
	// workload with a context of its own, before its dir is deleted.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Remove(ctx, spec.ID)
	})
	var out strings.Builder
	for i := 0; i < 200 && !strings.Contains(out.String(), "shadow="); i++ {
		out.Reset()
		if err := d.Logs(t.Context(), spec.ID, runtime.LogOptions{}, &out); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	w, err := hostile.ParseWhoAmI(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if w.UID == 0 || w.ShadowRead || !w.NoNewPrivs {
		t.Fatalf("exec workload of a root agent: %+v; want an unprivileged user, /etc/shadow refused, no new privileges", w)
	}
}

// TestAgentExecFlags: --exec-as-root runs workloads as the agent; it
// contradicts --exec-user; an unknown user is an error naming the flag.
func TestAgentExecFlags(t *testing.T) {
	p := privilegeFlags{execAsRoot: true}
	if eo, err := p.execOptions(t.TempDir()); err != nil || eo.User != nil {
		t.Errorf("--exec-as-root: %+v %v; want the agent's own user", eo, err)
	}
	cmd := newAgentCmd()
	if err := cmd.ParseFlags([]string{"--exec-user", "nobody", "--exec-as-root"}); err != nil {
		t.Fatal(err)
	}
	var q privilegeFlags
	var cfg agent.Config
	q.execUser, q.execAsRoot = "nobody", true
	if err := q.resolve(cmd.Flags(), privilegeFile{}, &cfg, ""); err == nil || !strings.Contains(err.Error(), "--exec-as-root") {
		t.Errorf("--exec-user with --exec-as-root: %v", err)
	}
	if os.Geteuid() == 0 {
		bad := privilegeFlags{execUser: "wharf-no-such-user"}
		if _, err := bad.execOptions(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--exec-user") {
			t.Errorf("unknown --exec-user: %v", err)
		}
	}
}
