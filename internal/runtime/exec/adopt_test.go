package exec

import (
	"bufio"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// TestAdoptedExitIsUnknown kills an adopted process behind the driver's
// back: the new driver cannot know its exit code, the old one (its parent)
// can.
func TestAdoptedExitIsUnknown(t *testing.T) {
	dir := t.TempDir()
	first := newDriver(t, dir)
	spec := shSpec("adopted", "echo hello; exec sleep 600")
	st := start(t, first, spec)
	second := newDriver(t, dir)
	if got, err := second.Inspect(ctx10(t), spec.ID); err != nil || got.State != runtime.StateRunning || got.PID != st.PID {
		t.Fatalf("second driver: %+v, %v; want running as PID %d", got, err, st.PID)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got, err := second.Wait(ctx10(t), spec.ID)
	if err != nil || got.ExitCode != -1 || got.Error != adoptedExit {
		t.Errorf("adopting driver's Wait = %+v, %v; want exit code -1 and %q", got, err, adoptedExit)
	}
	if got, err := first.Wait(ctx10(t), spec.ID); err != nil || got.ExitCode != 137 {
		t.Errorf("parent driver's Wait = %+v, %v; want 137", got, err)
	}
}

// TestAdoptionGuardsPIDReuse gives the driver a state file whose PID is
// now another process: the driver must consider the run exited and never
// signal that process.
func TestAdoptionGuardsPIDReuse(t *testing.T) {
	other := osexec.Command("sleep", "600")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	real, err := readProcStat(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cdir := filepath.Join(dir, "reused")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		t.Fatal(err)
	}
	rec := record{Spec: shSpec("reused", "true"), PID: other.Process.Pid, StartTime: real.startTime - 1, Port: 1234, StartedAt: time.Now()}
	if err := writeRecord(cdir, rec); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, dir)
	st, err := d.Inspect(ctx10(t), "reused")
	if err != nil || st.State != runtime.StateExited || st.Error != adoptedExit {
		t.Errorf("Inspect = %+v, %v; want exited, %q", st, err, adoptedExit)
	}
	if err := d.Stop(ctx10(t), "reused", time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := d.Remove(ctx10(t), "reused"); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if s, err := readProcStat(other.Process.Pid); err != nil || s.state == 'Z' {
		t.Fatalf("the unrelated process %d was signalled: %+v, %v", other.Process.Pid, s, err)
	}
	if _, err := os.Stat(cdir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove left %s: %v", cdir, err)
	}
}

// TestLoadBrokenState checks that unreadable container directories show up
// as exited containers that can be removed, and that leftovers of an
// interrupted Remove are deleted.
func TestLoadBrokenState(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, state string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if state != "" {
			if err := os.WriteFile(filepath.Join(dir, name, stateFile), []byte(state), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("garbage", "{not json")
	mk("nostate", "")
	mk("wrongid", `{"spec":{"ID":"other"},"pid":12345}`)
	mk(removingPrefix+"x-1", "")
	if err := os.WriteFile(filepath.Join(dir, "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, dir)
	list, err := d.List(ctx10(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range list {
		ids = append(ids, st.ID)
		if st.State != runtime.StateExited || st.ExitCode != -1 || !strings.Contains(st.Error, "cannot adopt") {
			t.Errorf("%s: %+v; want exited, -1, an error saying it cannot be adopted", st.ID, st)
		}
	}
	if strings.Join(ids, ",") != "garbage,nostate,wrongid" {
		t.Errorf("List IDs = %v, want garbage, nostate, wrongid in order", ids)
	}
	if _, err := os.Stat(filepath.Join(dir, removingPrefix+"x-1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover of an interrupted Remove is still there: %v", err)
	}
	for _, id := range ids {
		if err := d.Remove(ctx10(t), id); err != nil {
			t.Errorf("Remove(%s): %v", id, err)
		}
	}
}

// TestExitPersisted checks that a new driver reports a finished run's
// real exit code, recorded by its parent.
func TestExitPersisted(t *testing.T) {
	dir := t.TempDir()
	first := newDriver(t, dir)
	spec := shSpec("done", "exit 7")
	start(t, first, spec)
	want, err := first.Wait(ctx10(t), spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newDriver(t, dir).Inspect(ctx10(t), spec.ID)
	if err != nil || got.ExitCode != 7 || got.State != runtime.StateExited || !got.FinishedAt.Equal(want.FinishedAt) || got.Error != want.Error {
		t.Errorf("new driver: %+v, %v; want %+v", got, err, want)
	}
}

// TestAdoptedStragglersKilled adopts a process group started outside any
// driver; when its leader dies, the driver ends the rest of the group.
func TestAdoptedStragglersKilled(t *testing.T) {
	leader := osexec.Command("/bin/sh", "-c", "sleep 600 & echo $!; wait")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := leader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { signalGroup(leader.Process.Pid, syscall.SIGKILL); leader.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	straggler, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("no PID in %q", line)
	}
	ls, err := readProcStat(leader.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cdir := filepath.Join(dir, "outside")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		t.Fatal(err)
	}
	rec := record{Spec: shSpec("outside", "x"), PID: leader.Process.Pid, StartTime: ls.startTime, StartedAt: time.Now()}
	if err := writeRecord(cdir, rec); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, dir)
	if st, err := d.Inspect(ctx10(t), "outside"); err != nil || st.State != runtime.StateRunning {
		t.Fatalf("Inspect = %+v, %v; want the outside group adopted as running", st, err)
	}
	if err := syscall.Kill(leader.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Wait(ctx10(t), "outside"); err != nil || st.ExitCode != -1 {
		t.Fatalf("Wait = %+v, %v; want exited with unknown code", st, err)
	}
	if !gone(straggler) {
		t.Errorf("straggler %d of the adopted group survived its leader", straggler)
	}
}
