// Package conformance is the test suite every Wharf runtime driver must
// pass: Run checks a driver against the contract documented on
// runtime.Driver. It is imported by drivers' tests only and must never be
// imported by production code (it imports package testing).
package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Workload kinds a Harness must provide.
const (
	// KindServe runs until stopped. It writes the line "hello" to its output
	// and then nothing more, exits promptly on a stop request and, when the
	// driver can, listens on PORT.
	KindServe = "serve"
	// KindExit3 exits by itself with code 3, quickly (well under a second).
	KindExit3 = "exit3"
	// KindBad cannot start: Start must fail.
	KindBad = "bad"
)

// Harness tells Run how to make a driver and its workloads.
type Harness struct {
	// New returns a driver keeping its state in dir. Run calls it again on
	// the same dir to check that a new driver adopts what the first made.
	New func(t *testing.T, dir string) runtime.Driver
	// Spec returns a workload of the given kind. Run fills in ID, Name,
	// Service, Slot and Node.
	Spec func(t *testing.T, kind string) runtime.Spec
	// NoAdoption, when set, says why the driver cannot adopt the containers
	// of an earlier instance; the adoption test is skipped with this reason.
	NoAdoption string
	// Listens says KindServe listens on PORT: Run then connects to it.
	Listens bool
}

// timeout bounds every wait in the suite.
const timeout = 10 * time.Second

// fixture is one subtest's driver(s) on one directory.
type fixture struct {
	t       *testing.T
	h       Harness
	dir     string
	drivers []runtime.Driver
	n       int
}

// newFixture makes a directory and a driver on it, and removes every
// container of every driver of the fixture when the test ends.
func newFixture(t *testing.T, h Harness) (*fixture, runtime.Driver) {
	f := &fixture{t: t, h: h, dir: t.TempDir()}
	t.Cleanup(f.cleanup)
	return f, f.driver()
}

// driver makes another driver on the fixture's directory.
func (f *fixture) driver() runtime.Driver {
	f.t.Helper()
	d := f.h.New(f.t, f.dir)
	if d == nil {
		f.t.Fatal("Harness.New returned nil")
	}
	f.drivers = append(f.drivers, d)
	return d
}

func (f *fixture) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, d := range f.drivers {
		list, err := d.List(ctx)
		if err != nil {
			f.t.Errorf("cleanup: List: %v", err)
			continue
		}
		for _, st := range list {
			if err := d.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				f.t.Errorf("cleanup: Remove(%s): %v", st.ID, err)
			}
		}
	}
}

// spec returns a new workload of kind with a fresh ID.
func (f *fixture) spec(kind string) runtime.Spec {
	f.t.Helper()
	f.n++
	s := f.h.Spec(f.t, kind)
	s.ID = fmt.Sprintf("c%d-%s", f.n, kind)
	s.Service = "svc"
	s.Slot = f.n
	s.Name = fmt.Sprintf("svc-%d", f.n)
	s.Node = "node-1"
	return s
}

// start starts a new workload of kind on d and checks it runs.
func (f *fixture) start(d runtime.Driver, kind string) (runtime.Spec, runtime.Status) {
	f.t.Helper()
	spec := f.spec(kind)
	st, err := d.Start(ctxT(f.t), spec)
	if err != nil {
		f.t.Fatalf("Start(%s): %v", kind, err)
	}
	if st.ID != spec.ID {
		f.t.Fatalf("Start returned status of %q, want %q", st.ID, spec.ID)
	}
	return spec, st
}

// ctxT is a context that ends with the test or after timeout.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// logs returns what Logs writes without following.
func logs(t *testing.T, d runtime.Driver, id string, tail int) string {
	t.Helper()
	var b strings.Builder
	if err := d.Logs(ctxT(t), id, runtime.LogOptions{Tail: tail}, &b); err != nil {
		t.Fatalf("Logs(%s, tail %d): %v", id, tail, err)
	}
	return b.String()
}

// waitForLine polls the logs of id until they hold line.
func waitForLine(t *testing.T, d runtime.Driver, id, line string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := logs(t, d, id, 0)
		if slices.Contains(strings.Split(out, "\n"), line) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs of %s never held the line %q; they are %q", id, line, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// find returns the status of id in list.
func find(list []runtime.Status, id string) (runtime.Status, bool) {
	i := slices.IndexFunc(list, func(s runtime.Status) bool { return s.ID == id })
	if i < 0 {
		return runtime.Status{}, false
	}
	return list[i], true
}

// syncBuffer is a strings.Builder safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
