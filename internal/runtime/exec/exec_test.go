package exec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/conformance"
)

// helperEnv makes the test binary act as a workload instead of running
// tests; see TestMain.
const helperEnv = "WHARF_EXEC_TEST_HELPER"

func TestMain(m *testing.M) {
	// Commands exec'd into a container with networks (netns_test.go) get
	// the container's environment, helperEnv included: they are told
	// apart by their arguments.
	if len(os.Args) > 1 && netHelper(os.Args[1:]) {
		return
	}
	switch os.Getenv(helperEnv) {
	case "serve":
		serve()
		return
	case "serve-net":
		serveNet()
		return
	}
	os.Exit(m.Run())
}

// serve listens on $PORT, says hello and accepts connections until killed.
func serve() {
	ln, err := net.Listen("tcp", ":"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("hello")
	for {
		conn, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		conn.Close()
	}
}

func TestConformance(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, conformance.Harness{
		New: func(t *testing.T, dir string) runtime.Driver { return newDriver(t, dir) },
		Spec: func(t *testing.T, kind string) runtime.Spec {
			switch kind {
			case conformance.KindServe:
				return runtime.Spec{Command: []string{exe}, Env: map[string]string{helperEnv: "serve"}}
			case conformance.KindExit3:
				return runtime.Spec{Command: []string{"/bin/sh", "-c", "exit 3"}}
			case conformance.KindBad:
				return runtime.Spec{Command: []string{"/nonexistent/wharf-no-such-command"}}
			}
			t.Fatalf("unknown workload kind %q", kind)
			return runtime.Spec{}
		},
		Listens: true,
	})
}

// newDriver makes a driver on dir and removes all its containers when the
// test ends, so that no process outlives the test.
func newDriver(t *testing.T, dir string) *Driver {
	t.Helper()
	d, err := New(dir)
	if err != nil {
		t.Fatalf("New(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, _ := d.List(ctx)
		for _, st := range list {
			if err := d.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("cleanup: Remove(%s): %v", st.ID, err)
			}
		}
	})
	return d
}

// shSpec is a spec running script with /bin/sh.
func shSpec(id, script string) runtime.Spec {
	return runtime.Spec{ID: id, Name: "svc-1", Service: "svc", Slot: 1, Node: "n1",
		Command: []string{"/bin/sh", "-c", script}}
}

// ctx10 is a context that ends with the test or after 10 seconds.
func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start starts spec on d or fails the test.
func start(t *testing.T, d *Driver, spec runtime.Spec) runtime.Status {
	t.Helper()
	st, err := d.Start(ctx10(t), spec)
	if err != nil {
		t.Fatalf("Start(%s): %v", spec.ID, err)
	}
	return st
}

// waitLogs polls the logs of id until cond holds and returns them.
func waitLogs(t *testing.T, d *Driver, id string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var b strings.Builder
		if err := d.Logs(ctx10(t), id, runtime.LogOptions{}, &b); err != nil {
			t.Fatalf("Logs(%s): %v", id, err)
		}
		if cond(b.String()) {
			return b.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs of %s never met the condition; they are %q", id, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gone reports, polling for up to 5 seconds, whether pid has exited (a
// zombie that nobody reaps yet counts as exited).
func gone(pid int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, err := readProcStat(pid)
		if err != nil || st.state == 'Z' || st.state == 'X' {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
