package conformance

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Run runs the whole suite against the driver h makes.
func Run(t *testing.T, h Harness) {
	if h.New == nil || h.Spec == nil {
		t.Fatal("conformance: Harness.New and Harness.Spec are required")
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"StartInspectList", testStartInspectList},
		{"ConcurrentStart", testConcurrentStart},
		{"Stop", testStop},
		{"ExitCode", testExitCode},
		{"WaitContext", testWaitContext},
		{"Logs", testLogs},
		{"LogsFollowCancel", testLogsFollowCancel},
		{"LogsFollowExit", testLogsFollowExit},
		{"Port", testPort},
		{"BadSpec", testBadSpec},
		{"Adoption", testAdoption},
		{"Remove", testRemove},
		{"UnknownID", testUnknownID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, h)
		})
	}
}

func testStartInspectList(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	if d.Name() == "" {
		t.Error("Name() is empty")
	}
	before := time.Now()
	spec, st := f.start(d, KindServe)
	if st.State != runtime.StateRunning {
		t.Fatalf("Start: state %q, want running", st.State)
	}
	if st.StartedAt.Before(before.Add(-time.Second)) || st.StartedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("StartedAt %v is not about now (%v)", st.StartedAt, before)
	}
	if !st.FinishedAt.IsZero() {
		t.Errorf("FinishedAt %v set on a running container", st.FinishedAt)
	}
	got, err := d.Inspect(ctxT(t), spec.ID)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Errorf("Inspect = %+v, want what Start returned, %+v", got, st)
	}
	list, err := d.List(ctxT(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 1 || !reflect.DeepEqual(list[0], st) {
		t.Errorf("List = %+v, want just %+v", list, st)
	}
	again, err := d.Start(ctxT(t), spec)
	if err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if !reflect.DeepEqual(again, st) {
		t.Errorf("second Start = %+v, want the running status unchanged, %+v", again, st)
	}
}

func testConcurrentStart(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec := f.spec(KindServe)
	const n = 8
	var (
		wg       sync.WaitGroup
		statuses [n]runtime.Status
		errs     [n]error
	)
	for i := range n {
		wg.Go(func() { statuses[i], errs[i] = d.Start(ctxT(t), spec) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Start %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(statuses[i], statuses[0]) {
			t.Errorf("Start %d = %+v, Start 0 = %+v; want one run", i, statuses[i], statuses[0])
		}
	}
	if list, err := d.List(ctxT(t)); err != nil || len(list) != 1 {
		t.Errorf("List = %+v, %v; want one container", list, err)
	}
}

func testStop(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, st := f.start(d, KindServe)
	const stopTimeout = 5 * time.Second
	began := time.Now()
	if err := d.Stop(ctxT(t), spec.ID, stopTimeout); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// The workload exits promptly on a stop request: Stop must return once
	// it is gone, not wait out the timeout.
	if took := time.Since(began); took > stopTimeout/2 {
		t.Errorf("Stop took %v (timeout %v) although the workload exits at once", took, stopTimeout)
	}
	got, err := d.Inspect(ctxT(t), spec.ID)
	if err != nil {
		t.Fatalf("Inspect after Stop: %v", err)
	}
	if got.State != runtime.StateExited || got.PID != 0 || got.FinishedAt.Before(st.StartedAt) {
		t.Errorf("after Stop: %+v; want exited, PID 0, FinishedAt after StartedAt %v", got, st.StartedAt)
	}
	if err := d.Stop(ctxT(t), spec.ID, stopTimeout); err != nil {
		t.Errorf("Stop of an exited container: %v, want nil", err)
	}
	waited, err := d.Wait(ctxT(t), spec.ID)
	if err != nil || !reflect.DeepEqual(waited, got) {
		t.Errorf("Wait after Stop = %+v, %v; want %+v at once", waited, err, got)
	}
}

func testExitCode(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, first := f.start(d, KindExit3)
	st, err := d.Wait(ctxT(t), spec.ID)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if st.State != runtime.StateExited || st.ExitCode != 3 {
		t.Fatalf("Wait = %+v, want exited with code 3", st)
	}
	if got, err := d.Inspect(ctxT(t), spec.ID); err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("Inspect = %+v, %v; want %+v", got, err, st)
	}
	// Starting an exited ID starts a new run.
	time.Sleep(10 * time.Millisecond)
	second, err := d.Start(ctxT(t), spec)
	if err != nil {
		t.Fatalf("Start after exit: %v", err)
	}
	if !second.StartedAt.After(first.StartedAt) {
		t.Errorf("Start after exit: StartedAt %v, not after the first run's %v", second.StartedAt, first.StartedAt)
	}
	if st, err := d.Wait(ctxT(t), spec.ID); err != nil || st.ExitCode != 3 || !st.StartedAt.Equal(second.StartedAt) {
		t.Errorf("Wait for the second run = %+v, %v; want exit code 3 and StartedAt %v", st, err, second.StartedAt)
	}
}

func testWaitContext(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, _ := f.start(d, KindServe)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	st, err := d.Wait(ctx, spec.ID)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with an ending context: %v, want it to wrap context.DeadlineExceeded", err)
	}
	if st.State != runtime.StateRunning {
		t.Errorf("Wait with an ending context: state %q, want running", st.State)
	}
}
