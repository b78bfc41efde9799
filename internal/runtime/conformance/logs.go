package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

var logsFollow = runtime.LogOptions{Follow: true}

func testLogs(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, _ := f.start(d, KindServe)
	waitForLine(t, d, spec.ID, "hello")
	tests := []struct {
		tail int
		want func(string) bool
		what string
	}{
		{1, func(s string) bool { return s == "hello\n" }, `exactly "hello\n"`},
		{1000, func(s string) bool { return strings.HasSuffix(s, "hello\n") }, `everything, ending in "hello\n"`},
		{0, func(s string) bool { return strings.HasSuffix(s, "hello\n") }, `everything, ending in "hello\n"`},
	}
	for _, tt := range tests {
		if got := logs(t, d, spec.ID, tt.tail); !tt.want(got) {
			t.Errorf("Logs(tail %d) = %q, want %s", tt.tail, got, tt.what)
		}
	}
	if all, last := logs(t, d, spec.ID, 0), logs(t, d, spec.ID, 1000); all != last {
		t.Errorf("Logs(tail 1000) = %q, want all of %q", last, all)
	}
}

func testLogsFollowCancel(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, _ := f.start(d, KindServe)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- d.Logs(ctx, spec.ID, logsFollow, &out) }()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(out.String(), "hello\n") {
		if time.Now().After(deadline) {
			t.Fatalf("following logs never showed hello; got %q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Logs(follow) returned %v while the container runs", err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Logs(follow) ended by its context returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Logs(follow) did not return within 5s of its context ending")
	}
}

func testLogsFollowExit(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, _ := f.start(d, KindExit3)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var out syncBuffer
	if err := d.Logs(ctx, spec.ID, logsFollow, &out); err != nil {
		t.Fatalf("Logs(follow) of a container that exits: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Logs(follow) returned only when its context ended, not when the container exited")
	}
	if st, err := d.Inspect(ctxT(t), spec.ID); err != nil || st.State != runtime.StateExited {
		t.Errorf("after Logs(follow) returned: %+v, %v; want exited", st, err)
	}
}
