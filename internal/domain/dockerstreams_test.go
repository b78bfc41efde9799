package domain

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// fakeStreamer is a ContainerStreamer that counts the calls reaching it.
type fakeStreamer struct {
	streamsLogs
	mu    sync.Mutex
	calls []string
}

func (f *fakeStreamer) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

type nopStream struct{ io.Reader }

func (nopStream) Write(p []byte) (int, error) { return len(p), nil }
func (nopStream) Close() error                { return nil }

func (f *fakeStreamer) ExecCreate(_ context.Context, c *api.Container, _ api.StreamExecConfig) (string, error) {
	f.note("create " + c.ID)
	return "engine-" + c.ID, nil
}

func (f *fakeStreamer) ExecStart(_ context.Context, node, eid string, _, _ bool) (io.ReadWriteCloser, error) {
	f.note("start " + node + " " + eid)
	return nopStream{strings.NewReader("out")}, nil
}

func (f *fakeStreamer) ExecResize(_ context.Context, _, eid string, h, w uint) error {
	f.note("resize " + eid)
	return nil
}

func (f *fakeStreamer) ExecInspect(_ context.Context, _, eid string) (api.StreamExecStatus, error) {
	f.note("inspect " + eid)
	return api.StreamExecStatus{ExitCode: 7}, nil
}

func (f *fakeStreamer) ContainerAttach(_ context.Context, c *api.Container, _ api.StreamAttach) (io.ReadWriteCloser, bool, error) {
	f.note("attach " + c.ID)
	return nopStream{strings.NewReader("")}, false, nil
}

func (f *fakeStreamer) ContainerResize(_ context.Context, c *api.Container, _, _ uint) error {
	f.note("resize container " + c.ID)
	return nil
}

func (f *fakeStreamer) ContainerTop(_ context.Context, c *api.Container, _ string) (api.StreamTop, error) {
	f.note("top " + c.ID)
	return api.StreamTop{Titles: []string{"PID"}}, nil
}

func (f *fakeStreamer) ContainerStats(_ context.Context, c *api.Container, _ bool) (io.ReadCloser, error) {
	f.note("stats " + c.ID)
	return io.NopCloser(strings.NewReader("{}")), nil
}

// TestDockerStreamsRefusals: exec and attach need admin access to apps,
// as the REST API's exec; top and stats need only read access, as logs.
// A refused call reaches no agent.
func TestDockerStreamsRefusals(t *testing.T) {
	f := &fakeStreamer{}
	d := newTestDomain(t, func(c *Config) { c.Logs = f })
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	ctx := t.Context()
	for _, a := range []Actor{deployer, reader} {
		if _, err := d.CreateExec(ctx, a, "web-1", api.StreamExecConfig{Cmd: []string{"sh"}}); !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("%s: CreateExec = %v, want forbidden", a.Role, err)
		}
		if _, _, _, err := d.AttachContainer(ctx, a, "web-1", api.StreamAttach{Stream: true, Stdout: true}); !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("%s: AttachContainer = %v, want forbidden", a.Role, err)
		}
	}
	if len(f.calls) != 0 {
		t.Fatalf("refused calls reached the agent: %v", f.calls)
	}
	if _, err := d.ContainerTop(ctx, reader, "web-1", ""); err != nil {
		t.Errorf("read-only top: %v", err)
	}
	if rc, _, err := d.ContainerStats(ctx, reader, "web-1", false); err != nil {
		t.Errorf("read-only stats: %v", err)
	} else {
		rc.Close()
	}
	if _, err := d.CreateExec(ctx, admin, "web-1", api.StreamExecConfig{Cmd: []string{"sh"}, Privileged: true}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("privileged exec = %v, want invalid", err)
	}
	if _, err := d.CreateExec(ctx, admin, "web-1", api.StreamExecConfig{}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("exec without a command = %v, want invalid", err)
	}
	streamsPutContainer(t, d, "c2", "web-2", "s1", "n1", api.ContainerStopped)
	if _, err := d.CreateExec(ctx, admin, "web-2", api.StreamExecConfig{Cmd: []string{"sh"}}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("exec in a stopped container = %v, want conflict", err)
	}
	if _, err := d.ContainerTop(ctx, reader, "web-2", ""); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("top of a stopped container = %v, want conflict", err)
	}
}

// TestDockerExecOwnership: an exec is started, resized and inspected
// only by the user who made it; anyone else, even an admin of the same
// organization, finds none. It starts once.
func TestDockerExecOwnership(t *testing.T) {
	f := &fakeStreamer{}
	d := newTestDomain(t, func(c *Config) { c.Logs = f })
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	ctx := t.Context()
	alice := Actor{Name: "alice", User: "u-alice", Token: "t-a1", Org: DefaultOrg, Access: FullAccess(), Role: api.RoleAdmin}
	aliceOtherCert := alice
	aliceOtherCert.Token = "t-a2"
	bob := Actor{Name: "bob", User: "u-bob", Token: "t-b", Org: DefaultOrg, Access: FullAccess(), Role: api.RoleAdmin}
	var n Note
	id, err := d.CreateExec(Noting(ctx, &n), alice, "web-1", api.StreamExecConfig{Cmd: []string{"sh"}, Tty: true})
	if err != nil || n.Object != "c1" {
		t.Fatalf("CreateExec = %q, %v (noted %q)", id, err, n.Object)
	}
	if _, _, err := d.StartExec(ctx, bob, id, true, false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("bob starts alice's exec: %v, want not found", err)
	}
	if err := d.ResizeExec(ctx, bob, id, 24, 80); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("bob resizes alice's exec: %v, want not found", err)
	}
	if _, err := d.InspectExec(ctx, bob, id); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("bob inspects alice's exec: %v, want not found", err)
	}
	other := alice
	other.Org = "other"
	if _, err := d.InspectExec(ctx, other, id); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("alice in another organization inspects it: %v, want not found", err)
	}
	readOnlyAlice := alice
	readOnlyAlice.Role = api.RoleReadOnly
	if _, _, err := d.StartExec(ctx, readOnlyAlice, id, true, false); !errors.Is(err, errdefs.ErrForbidden) {
		t.Errorf("alice read-only starts it: %v, want forbidden", err)
	}
	st, x, err := d.StartExec(ctx, aliceOtherCert, id, true, false)
	if err != nil || x.Container != "c1" || x.Node != "n1" {
		t.Fatalf("StartExec = %+v, %v", x, err)
	}
	st.Close()
	if _, _, err := d.StartExec(ctx, alice, id, true, false); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("second start: %v, want conflict", err)
	}
	if err := d.ResizeExec(ctx, alice, id, 0, 80); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("resize to 0 rows: %v, want invalid", err)
	}
	x, err = d.InspectExec(ctx, alice, id)
	if err != nil || !x.Started || x.Status.ExitCode != 7 {
		t.Errorf("InspectExec = %+v, %v", x, err)
	}
	want := []string{"create c1", "start n1 engine-c1", "inspect engine-c1"}
	if strings.Join(f.calls, ",") != strings.Join(want, ",") {
		t.Errorf("calls reaching the agent: %v, want %v", f.calls, want)
	}
}

// TestResizeContainer: a terminal is resized by who may attach, to a
// size of at least one row and column, and only for a container with a
// terminal; a refused resize reaches no agent.
func TestResizeContainer(t *testing.T) {
	f := &fakeStreamer{}
	d := newTestDomain(t, func(c *Config) { c.Logs = f })
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	tc := api.Container{Meta: api.Meta{ID: "c2", Name: "box"},
		Spec:   api.ContainerSpec{Service: "s2", Slot: 1, Node: "n1", Driver: "docker", Desired: api.ContainerRunning, TTY: true},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	if err := d.st.Create(t.Context(), store.KindContainers, &tc); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for name, tt := range map[string]struct {
		a    Actor
		ref  string
		h, w uint
		kind error
	}{
		"read-only":     {reader, "box", 30, 100, errdefs.ErrForbidden},
		"zero rows":     {admin, "box", 0, 100, errdefs.ErrInvalid},
		"no terminal":   {admin, "web-1", 30, 100, errdefs.ErrConflict},
		"too many rows": {admin, "box", 1 << 16, 100, errdefs.ErrInvalid},
	} {
		if err := d.ResizeContainer(ctx, tt.a, tt.ref, tt.h, tt.w); !errors.Is(err, tt.kind) {
			t.Errorf("%s: ResizeContainer = %v, want %v", name, err, tt.kind)
		}
	}
	if len(f.calls) != 0 {
		t.Fatalf("refused resizes reached the agent: %v", f.calls)
	}
	if err := d.ResizeContainer(ctx, admin, "box", 30, 100); err != nil || len(f.calls) != 1 {
		t.Errorf("resize of a terminal container: %v, calls %v", err, f.calls)
	}
}
