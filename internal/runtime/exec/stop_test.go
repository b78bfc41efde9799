package exec

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStopKillsProcessGroup checks that Stop ends the grandchildren too.
func TestStopKillsProcessGroup(t *testing.T) {
	d := newDriver(t, t.TempDir())
	spec := shSpec("group", "sleep 600 & echo $!; wait")
	st := start(t, d, spec)
	out := waitLogs(t, d, spec.ID, func(s string) bool { return strings.HasSuffix(s, "\n") })
	grandchild, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("no grandchild PID in the output %q", out)
	}
	if gs, err := readProcStat(grandchild); err != nil || gs.pgrp != st.PID {
		t.Fatalf("grandchild %d: %+v, %v; want it in process group %d", grandchild, gs, err, st.PID)
	}
	if err := d.Stop(ctx10(t), spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !gone(st.PID) {
		t.Errorf("main process %d still runs after Stop", st.PID)
	}
	if !gone(grandchild) {
		t.Errorf("grandchild %d still runs after Stop", grandchild)
	}
}

// TestExitKillsLeftovers checks that what a workload leaves behind in its
// group dies with it.
func TestExitKillsLeftovers(t *testing.T) {
	d := newDriver(t, t.TempDir())
	spec := shSpec("leftover", "sleep 600 & echo $!")
	start(t, d, spec)
	if _, err := d.Wait(ctx10(t), spec.ID); err != nil {
		t.Fatal(err)
	}
	out := waitLogs(t, d, spec.ID, func(s string) bool { return strings.HasSuffix(s, "\n") })
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("no PID in the output %q", out)
	}
	if !gone(pid) {
		t.Errorf("background process %d outlived its container", pid)
	}
}

// TestStopEscalates checks that a workload ignoring SIGTERM is killed after
// the timeout.
func TestStopEscalates(t *testing.T) {
	d := newDriver(t, t.TempDir())
	spec := shSpec("stubborn", `trap "" TERM; echo ready; while :; do sleep 1; done`)
	start(t, d, spec)
	waitLogs(t, d, spec.ID, func(s string) bool { return s == "ready\n" })
	const timeout = 300 * time.Millisecond
	began := time.Now()
	if err := d.Stop(ctx10(t), spec.ID, timeout); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took < timeout || took > timeout+3*time.Second {
		t.Errorf("Stop took %v; want a little over the timeout %v", took, timeout)
	}
	st, err := d.Inspect(ctx10(t), spec.ID)
	if err != nil || st.ExitCode != 137 {
		t.Errorf("after Stop: %+v, %v; want killed by SIGKILL (137)", st, err)
	}
}
