package domain

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// streamsLogs is a log source and execer: each container's log is
// "<name> line\n"; exec answers with the command.
type streamsLogs struct {
	mu    sync.Mutex
	calls int
}

func (l *streamsLogs) ContainerLogs(_ context.Context, c *api.Container, _ bool, _ int, w io.Writer) error {
	l.mu.Lock()
	l.calls++
	l.mu.Unlock()
	_, err := io.WriteString(w, c.Name+" line\n")
	return err
}

func (l *streamsLogs) ContainerExec(_ context.Context, c *api.Container, cmd []string) (api.ExecResult, error) {
	l.mu.Lock()
	l.calls++
	l.mu.Unlock()
	return api.ExecResult{ExitCode: len(cmd), Output: c.Name + ":" + cmd[0]}, nil
}

// streamsPutContainer stores a container of service on node ("" for not
// placed yet) in state.
func streamsPutContainer(t *testing.T, d *Domain, id, name, service, node string, state api.ContainerState) {
	t.Helper()
	c := api.Container{Meta: api.Meta{ID: id, Name: name},
		Spec:   api.ContainerSpec{Service: service, Slot: 1, Node: node, Driver: "exec", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: state}}
	if err := d.st.Create(t.Context(), store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
}

// streamsPutService stores a service and its name index.
func streamsPutService(t *testing.T, d *Domain, id, name string) {
	t.Helper()
	tx := d.st.Txn()
	tx.Create(store.KindServices, &api.Service{Meta: api.Meta{ID: id, Name: name}})
	tx.Create(store.KindNames, &nameIndex{Meta: api.Meta{ID: serviceNameKey("", name), Name: id}})
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestExecRefusesNonAdmins(t *testing.T) {
	logs := &streamsLogs{}
	d := newTestDomain(t, func(c *Config) { c.Logs = logs })
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	for _, a := range []Actor{deployer, reader} {
		var n Note
		_, err := d.Exec(Noting(t.Context(), &n), a, "web-1", []string{"ls"})
		if !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("%s: exec = %v, want forbidden", a.Role, err)
		}
		if n.Object != "" {
			t.Errorf("%s: a refused exec noted %q", a.Role, n.Object)
		}
	}
	if logs.calls != 0 {
		t.Fatalf("refused execs reached the agent %d times", logs.calls)
	}
	var n Note
	res, err := d.Exec(Noting(t.Context(), &n), admin, "web-1", []string{"ls", "-l"})
	if err != nil || res.ExitCode != 2 || res.Output != "web-1:ls" || n.Object != "c1" {
		t.Fatalf("admin exec = %+v, %v (noted %q)", res, err, n.Object)
	}
	if _, err := d.Exec(t.Context(), admin, "web-1", nil); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("exec without a command = %v", err)
	}
}

func TestContainerReads(t *testing.T) {
	d := newTestDomain(t)
	streamsPutService(t, d, "s1", "web")
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	streamsPutContainer(t, d, "c2", "db-1", "s2", "n2", api.ContainerRunning)
	l, err := d.ListContainers(t.Context(), reader, "web", "", Page{})
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != "c1" {
		t.Fatalf("list of web = %+v, %v", l, err)
	}
	if l, err = d.ListContainers(t.Context(), reader, "", "n2", Page{}); err != nil || len(l.Items) != 1 || l.Items[0].ID != "c2" {
		t.Fatalf("list on n2 = %+v, %v", l, err)
	}
	if _, err := d.ListContainers(t.Context(), reader, "nope", "", Page{}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("list of a missing service = %v", err)
	}
	c, err := d.GetContainer(t.Context(), reader, "db-1")
	if err != nil || c.ID != "c2" {
		t.Fatalf("get by name = %+v, %v", c, err)
	}
}

func TestContainerLogs(t *testing.T) {
	logs := &streamsLogs{}
	d := newTestDomain(t, func(c *Config) { c.Logs = logs })
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	streamsPutContainer(t, d, "c2", "web-2", "s1", "", api.ContainerPending)
	var b bytes.Buffer
	if err := d.ContainerLogs(t.Context(), reader, "web-1", false, 0, &b); err != nil || b.String() != "web-1 line\n" {
		t.Fatalf("logs = %q, %v", b.String(), err)
	}
	b.Reset()
	err := d.ContainerLogs(t.Context(), reader, "web-2", false, 0, &b)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "not placed on a node yet") || b.Len() != 0 {
		t.Fatalf("logs of an unplaced container = %v (%q)", err, b.String())
	}
	if logs.calls != 1 {
		t.Fatalf("the log source was called %d times, want 1", logs.calls)
	}
	none := newTestDomain(t)
	streamsPutContainer(t, none, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	if err := none.ContainerLogs(t.Context(), reader, "web-1", false, 0, &b); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("logs without a log source = %v", err)
	}
}

func TestServiceLogs(t *testing.T) {
	d := newTestDomain(t, func(c *Config) { c.Logs = &streamsLogs{} })
	streamsPutService(t, d, "s1", "web")
	streamsPutContainer(t, d, "c1", "web-1", "s1", "n1", api.ContainerRunning)
	var b bytes.Buffer
	if err := d.ServiceLogs(t.Context(), reader, "web", false, 0, &b); err != nil || b.String() != "web-1 | web-1 line\n" {
		t.Fatalf("service logs = %q, %v", b.String(), err)
	}
}

func TestRecordActionClips(t *testing.T) {
	d := newTestDomain(t)
	huge := strings.Repeat("é", 2000) // 4000 bytes: the cut falls on a rune boundary
	if err := d.RecordAction(t.Context(), admin, api.Action{Who: "admin", Method: "POST", Path: "/v1/" + huge, Object: huge, Status: 400, Result: "Failed", Error: huge}); err != nil {
		t.Fatal(err)
	}
	if err := d.RecordAction(t.Context(), admin, api.Action{Who: "admin", Method: "DELETE", Path: "/v1/services/x", Status: 200, Result: "Success"}); err != nil {
		t.Fatal(err)
	}
	p, err := d.ListActions(t.Context(), reader, Page{})
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("actions = %+v, %v", p, err)
	}
	var first, second api.Action
	if err := p.Items[0].Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := p.Items[1].Decode(&second); err != nil {
		t.Fatal(err)
	}
	if second.Method != "DELETE" || first.ID >= second.ID {
		t.Fatalf("actions not oldest first: %s %s, %s %s", first.ID, first.Method, second.ID, second.Method)
	}
	bound := MaxActionField + len("... (1000000 more bytes)")
	for field, v := range map[string]string{"path": first.Path, "object": first.Object, "error": first.Error} {
		if len(v) > bound || !strings.Contains(v, "é... (") || !strings.HasSuffix(v, " more bytes)") {
			t.Errorf("%s: %d bytes, ...%q", field, len(v), v[max(0, len(v)-40):])
		}
		if !utf8.ValidString(v) {
			t.Errorf("%s is not cut on a rune boundary: %q", field, v[len(v)-40:])
		}
	}
	if second.Path != "/v1/services/x" {
		t.Errorf("a short path was changed: %q", second.Path)
	}
}

func TestEventsPage(t *testing.T) {
	d := newTestDomain(t)
	for _, id := range []string{"s1", "s2", "s3"} {
		ev := api.Event{Kind: "service", Object: id, Type: "created"}
		if err := d.st.Create(t.Context(), store.KindServices, &api.Service{Meta: api.Meta{ID: id, Name: id}}, ev); err != nil {
			t.Fatal(err)
		}
	}
	p, err := d.Events(t.Context(), reader, store.EventCursor{}, 2)
	if err != nil || len(p.Items) != 2 || p.Next == "" || p.Items[0].Object != "s1" {
		t.Fatalf("first page = %+v, %v", p, err)
	}
	cur, err := store.ParseEventCursor(p.Next)
	if err != nil {
		t.Fatal(err)
	}
	p, err = d.Events(t.Context(), reader, cur, 2)
	if err != nil || len(p.Items) != 1 || p.Next != "" || p.Items[0].Object != "s3" {
		t.Fatalf("second page = %+v, %v", p, err)
	}
	if p, err = d.Events(t.Context(), reader, cur, MaxLimit+1); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("a page too large = %+v, %v", p, err)
	}
}
