package fake

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wrt "github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/conformance"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		New: func(t *testing.T, dir string) wrt.Driver { return New() },
		Spec: func(t *testing.T, kind string) wrt.Spec {
			switch kind {
			case conformance.KindServe:
				return wrt.Spec{Command: []string{"serve"}, Env: map[string]string{EnvOutput: "hello"}}
			case conformance.KindExit3:
				return wrt.Spec{Command: []string{"exit3"}, Env: map[string]string{EnvRunFor: "20ms", EnvExitCode: "3"}}
			case conformance.KindBad:
				return wrt.Spec{Command: []string{"bad"}, Env: map[string]string{EnvStartError: "no such command"}}
			}
			t.Fatalf("unknown workload kind %q", kind)
			return wrt.Spec{}
		},
		NoAdoption: "the fake driver keeps containers in memory only",
	})
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSteering(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		startErr  string // Start must fail with this in its error
		running   bool   // still running after 100ms
		code      int
		wantError string
	}{
		{"runs until stopped", nil, "", true, 0, ""},
		{"exit code", map[string]string{EnvRunFor: "10ms", EnvExitCode: "5"}, "", false, 5, "exited with code 5"},
		{"clean exit", map[string]string{EnvRunFor: "0s"}, "", false, 0, ""},
		{"exit code without run-for", map[string]string{EnvExitCode: "5"}, "", true, 0, ""},
		{"start error", map[string]string{EnvStartError: "boom: image corrupt"}, "boom: image corrupt", false, 0, ""},
		{"bad duration", map[string]string{EnvRunFor: "soon"}, EnvRunFor, false, 0, ""},
		{"negative duration", map[string]string{EnvRunFor: "-1s"}, EnvRunFor, false, 0, ""},
		{"bad exit code", map[string]string{EnvRunFor: "1s", EnvExitCode: "x"}, EnvExitCode, false, 0, ""},
		{"exit code too big", map[string]string{EnvRunFor: "1s", EnvExitCode: "256"}, EnvExitCode, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New()
			spec := wrt.Spec{ID: "c1", Name: "web-1", Env: tt.env}
			st, err := d.Start(ctx5(t), spec)
			if tt.startErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.startErr) {
					t.Fatalf("Start = %+v, %v; want an error containing %q", st, err, tt.startErr)
				}
				if _, err := d.Inspect(ctx5(t), "c1"); !errors.Is(err, wrt.ErrNotFound) {
					t.Errorf("Inspect after a failed Start: %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			st, err = d.Wait(ctx, "c1")
			if tt.running {
				if !errors.Is(err, context.DeadlineExceeded) || st.State != wrt.StateRunning {
					t.Errorf("Wait = %+v, %v; want still running", st, err)
				}
				return
			}
			if err != nil || st.State != wrt.StateExited || st.ExitCode != tt.code || st.Error != tt.wantError {
				t.Errorf("Wait = %+v, %v; want exited with code %d, error %q", st, err, tt.code, tt.wantError)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	d := New()
	spec := wrt.Spec{ID: "c1", Name: "web-1", Env: map[string]string{EnvOutput: "one\ntwo\n"}}
	if _, err := d.Start(ctx5(t), spec); err != nil {
		t.Fatal(err)
	}
	var follow lockedBuffer
	followed := make(chan error, 1)
	go func() { followed <- d.Logs(ctx5(t), "c1", wrt.LogOptions{Follow: true, Tail: 1}, &follow) }()
	logs := func(tail int) string {
		var b strings.Builder
		if err := d.Logs(ctx5(t), "c1", wrt.LogOptions{Tail: tail}, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got, want := logs(0), "fake container web-1 started\none\ntwo\n"; got != want {
		t.Errorf("Logs = %q, want %q", got, want)
	}
	if got, want := logs(2), "one\ntwo\n"; got != want {
		t.Errorf("Logs(tail 2) = %q, want %q", got, want)
	}
	for !strings.Contains(follow.String(), "two\n") {
		time.Sleep(5 * time.Millisecond) // the follower has caught up before the stop
	}
	if err := d.Stop(ctx5(t), "c1", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-followed; err != nil {
		t.Fatalf("Logs(follow): %v", err)
	}
	exited := "fake container web-1 exited with code 143\n"
	if got, want := follow.String(), "two\n"+exited; got != want {
		t.Errorf("Logs(follow, tail 1) = %q, want %q", got, want)
	}
	if got, want := logs(1), exited; got != want {
		t.Errorf("Logs(tail 1) after Stop = %q, want %q", got, want)
	}
	var after strings.Builder
	if err := d.Logs(ctx5(t), "c1", wrt.LogOptions{Follow: true}, &after); err != nil || strings.Count(after.String(), "exited") != 1 {
		t.Errorf("Logs(follow) of an exited container = %q, %v; want the exited line once", after.String(), err)
	}
}

// TestManyContainersAreCheap starts 10,000 containers, half of them with a
// run-for timer, and checks they cost no goroutines and little memory.
func TestManyContainersAreCheap(t *testing.T) {
	const n = 10000
	d := New()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	timed := map[string]string{EnvRunFor: "1h"}
	for i := range n {
		spec := wrt.Spec{ID: "c" + strconv.Itoa(i), Name: "svc-" + strconv.Itoa(i)}
		if i%2 == 0 {
			spec.Env = timed
		}
		if _, err := d.Start(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if g := runtime.NumGoroutine(); g > goroutines+5 {
		t.Errorf("%d containers made %d goroutines", n, g-goroutines)
	}
	perContainer := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	if perContainer > 1024 {
		t.Errorf("each container costs %d bytes of heap, want at most 1 KiB", perContainer)
	}
	t.Logf("%d bytes of heap per container", perContainer)
	list, err := d.List(t.Context())
	if err != nil || len(list) != n {
		t.Fatalf("List: %d containers, %v; want %d", len(list), err, n)
	}
	ports := make(map[int]bool, n)
	for _, st := range list {
		if st.HostPort < basePort || st.HostPort >= basePort+portSpan || ports[st.HostPort] {
			t.Fatalf("%s: HostPort %d out of range or repeated", st.ID, st.HostPort)
		}
		ports[st.HostPort] = true
	}
	for _, st := range list {
		if err := d.Remove(t.Context(), st.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// lockedBuffer is a strings.Builder safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
