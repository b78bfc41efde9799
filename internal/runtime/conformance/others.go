package conformance

import (
	"errors"
	"io"
	"net"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

func testPort(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	_, a := f.start(d, KindServe)
	_, b := f.start(d, KindServe)
	for _, st := range []runtime.Status{a, b} {
		if st.HostPort <= 0 || st.HostPort > 65535 {
			t.Errorf("%s: HostPort %d, want a port number", st.ID, st.HostPort)
		}
	}
	if a.HostPort == b.HostPort {
		t.Errorf("two running containers got the same HostPort %d", a.HostPort)
	}
	list, err := d.List(ctxT(t))
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[0], a) || !reflect.DeepEqual(list[1], b) {
		t.Errorf("List = %+v, %v; want %+v and %+v, sorted by ID", list, err, a, b)
	}
	if !h.Listens {
		return
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.HostPort))
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the serve workload never listened on PORT %d: %v", a.HostPort, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testBadSpec(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec := f.spec(KindBad)
	if st, err := d.Start(ctxT(t), spec); err == nil {
		t.Fatalf("Start of a bad spec = %+v, want an error", st)
	}
	if _, err := d.Inspect(ctxT(t), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after a failed Start: %v, want ErrNotFound (nothing left behind)", err)
	}
	if list, err := d.List(ctxT(t)); err != nil || len(list) != 0 {
		t.Errorf("List after a failed Start = %+v, %v; want empty", list, err)
	}
}

func testAdoption(t *testing.T, h Harness) {
	if h.NoAdoption != "" {
		t.Skip(h.NoAdoption)
	}
	f, first := newFixture(t, h)
	spec, st := f.start(first, KindServe)
	waitForLine(t, first, spec.ID, "hello")

	second := f.driver()
	list, err := second.List(ctxT(t))
	if err != nil {
		t.Fatalf("List of the second driver: %v", err)
	}
	if got, ok := find(list, spec.ID); !ok || got.State != runtime.StateRunning || got.PID != st.PID ||
		got.HostPort != st.HostPort || !got.StartedAt.Equal(st.StartedAt) {
		t.Fatalf("second driver lists %+v; want %s running as %+v", list, spec.ID, st)
	}
	if out := logs(t, second, spec.ID, 1); out != "hello\n" {
		t.Errorf("second driver's Logs(tail 1) = %q, want \"hello\\n\"", out)
	}
	if err := second.Stop(ctxT(t), spec.ID, 5*time.Second); err != nil {
		t.Fatalf("second driver's Stop: %v", err)
	}
	got, err := second.Inspect(ctxT(t), spec.ID)
	if err != nil || got.State != runtime.StateExited {
		t.Fatalf("second driver's Inspect after Stop = %+v, %v; want exited", got, err)
	}
	if st, err := first.Wait(ctxT(t), spec.ID); err != nil || st.State != runtime.StateExited {
		t.Errorf("first driver's Wait after the second stopped it = %+v, %v; want exited", st, err)
	}
	// The final status survives yet another restart.
	third := f.driver()
	if got, err := third.Inspect(ctxT(t), spec.ID); err != nil || got.State != runtime.StateExited {
		t.Errorf("third driver's Inspect = %+v, %v; want the persisted exited status", got, err)
	}
}

func testRemove(t *testing.T, h Harness) {
	f, d := newFixture(t, h)
	spec, _ := f.start(d, KindServe)
	if err := d.Remove(ctxT(t), spec.ID); err != nil {
		t.Fatalf("Remove of a running container: %v", err)
	}
	if _, err := d.Inspect(ctxT(t), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after Remove: %v, want ErrNotFound", err)
	}
	if list, err := d.List(ctxT(t)); err != nil || len(list) != 0 {
		t.Errorf("List after Remove = %+v, %v; want empty", list, err)
	}
	if err := d.Remove(ctxT(t), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	if st, err := d.Start(ctxT(t), spec); err != nil || st.State != runtime.StateRunning {
		t.Errorf("Start after Remove = %+v, %v; want a fresh run", st, err)
	}
}

func testUnknownID(t *testing.T, h Harness) {
	_, d := newFixture(t, h)
	const id = "no-such-container"
	calls := []struct {
		name string
		call func() error
	}{
		{"Inspect", func() error { _, err := d.Inspect(ctxT(t), id); return err }},
		{"Wait", func() error { _, err := d.Wait(ctxT(t), id); return err }},
		{"Stop", func() error { return d.Stop(ctxT(t), id, time.Second) }},
		{"Remove", func() error { return d.Remove(ctxT(t), id) }},
		{"Logs", func() error { return d.Logs(ctxT(t), id, runtime.LogOptions{}, io.Discard) }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("%s(%q): %v, want ErrNotFound", c.name, id, err)
		}
	}
}
