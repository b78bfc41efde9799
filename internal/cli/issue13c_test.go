package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/apiserver"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
)

// fakeAPI is an in-process server of fixed objects: lists answer every
// item, GETs by ID or name answer the one, DELETEs are recorded.
type fakeAPI struct {
	mu         sync.Mutex
	nodes      []api.Node
	services   []api.Service
	containers []api.Container
	tokens     []api.Token
	events     []api.Event
	deleted    []string
	// handle answers a request first when it returns true.
	handle func(w http.ResponseWriter, r *http.Request) bool
}

func (f *fakeAPI) serve(t *testing.T) []string {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.handle != nil && f.handle(w, r) {
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
		list := func(items any) { _ = json.NewEncoder(w).Encode(map[string]any{"items": items}) }
		notFound := func() {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: "not_found", Message: parts[0] + " " + parts[1] + " not found"}})
		}
		find := func(ref string, metas []api.Meta) int {
			for i, m := range metas {
				if m.ID == ref || m.Name == ref {
					return i
				}
			}
			return -1
		}
		if len(parts) == 1 && r.Method == http.MethodGet {
			switch parts[0] {
			case "nodes":
				list(f.nodes)
			case "services":
				list(f.services)
			case "containers":
				var out []api.Container
				for _, c := range f.containers {
					if s := r.URL.Query().Get("service"); s == "" || c.Spec.Service == s {
						out = append(out, c)
					}
				}
				list(out)
			case "tokens":
				list(f.tokens)
			case "events":
				list(f.events)
			default:
				list([]any{})
			}
			return
		}
		if len(parts) == 2 {
			var metas []api.Meta
			var objs []any
			switch parts[0] {
			case "services":
				for _, s := range f.services {
					metas, objs = append(metas, s.Meta), append(objs, s)
				}
			case "containers":
				for _, c := range f.containers {
					metas, objs = append(metas, c.Meta), append(objs, c)
				}
			case "tokens":
				for _, c := range f.tokens {
					metas, objs = append(metas, c.Meta), append(objs, c)
				}
			}
			i := find(parts[1], metas)
			if i < 0 {
				notFound()
				return
			}
			switch r.Method {
			case http.MethodGet:
				_ = json.NewEncoder(w).Encode(objs[i])
			case http.MethodDelete:
				f.deleted = append(f.deleted, parts[0]+"/"+metas[i].ID)
				w.WriteHeader(http.StatusNoContent)
			}
			return
		}
		notFound()
	}))
	t.Cleanup(srv.Close)
	return []string{"--addr", srv.URL, "--token", "t"}
}

// TestZeroTimesOmitted (issue 13, item 8): a container that never started
// has no started_at or finished_at in JSON, and "-" in the table.
func TestZeroTimesOmitted(t *testing.T) {
	f := &fakeAPI{
		containers: []api.Container{{Meta: api.Meta{ID: "c1", Name: "web-1", CreatedAt: time.Now()},
			Spec: api.ContainerSpec{Service: "s1", Slot: 1, Desired: api.ContainerRunning}, Status: api.ContainerStatus{State: api.ContainerStopped, Reason: "exec: \"nope\": not found"}}},
	}
	conn := f.serve(t)
	for _, args := range [][]string{{"container", "ls", "--format", "json"}, {"container", "inspect", "web-1"}} {
		out, _, err := runCLI(t, append(args, conn...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Contains(out, "0001-01-01") || strings.Contains(out, "started_at") || strings.Contains(out, "finished_at") || strings.Contains(out, "updated_at") {
			t.Errorf("%v printed unset times:\n%s", args, out)
		}
		if !strings.Contains(out, `"created_at"`) {
			t.Errorf("%v lost a set time:\n%s", args, out)
		}
	}
	out, _, err := runCLI(t, append([]string{"container", "ls"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	started := strings.Index(lines[0], "STARTED")
	if len(lines) != 2 || started < 0 || len(lines[1]) <= started || lines[1][started] != '-' {
		t.Errorf("table:\n%s", out)
	}
}

// realServerStore is realServer with its store, to put in objects the
// API cannot make without agents (containers).
func realServerStore(t *testing.T) ([]string, *store.Store) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	e, err := store.StartEmbedded(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	st := store.New(e.Client, "/wharf")
	admin, _, err := domain.Bootstrap(context.Background(), st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := apiserver.New(apiserver.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return []string{"--addr", srv.URL, "--token", admin}, st
}

// TestErrorsAndExits (issue 13, item 6).
func TestErrorsAndExits(t *testing.T) {
	conn, st := realServerStore(t)
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append(append([]string{}, conn...), args...)...)
	}

	t.Run("a mistyped subcommand fails and suggests the nearest", func(t *testing.T) {
		out, _, err := run("service", "lss")
		if err == nil || err.Error() != `unknown command "lss" for "wharf service"; did you mean "ls"? (see 'wharf service --help')` || out != "" {
			t.Errorf("err %v, stdout %q", err, out)
		}
		if _, _, err := run("servce"); err == nil || err.Error() != `unknown command "servce" for "wharf"; did you mean "service"? (see 'wharf --help')` {
			t.Errorf("wharf servce: %v", err)
		}
		if code := Main(context.Background(), []string{"node", "lss"}); code == 0 {
			t.Error("wharf node lss exits 0")
		}
		if _, _, err := run("service"); err != nil {
			t.Errorf("wharf service (help): %v", err)
		}
	})

	t.Run("service rm acts on every service and reports each", func(t *testing.T) {
		for _, n := range []string{"a", "c"} {
			if _, _, err := run("service", "create", "--detach", "--name", n, "--", "sleep", "100"); err != nil {
				t.Fatal(err)
			}
		}
		out, errOut, err := run("service", "rm", "a", "b", "c")
		if out != "a\nc\n" || errOut != "wharf: service b: service \"b\" not found\n" || err == nil || err.Error() != "1 of 3 services failed: b" {
			t.Errorf("stdout %q, stderr %q, err %v", out, errOut, err)
		}
	})

	t.Run("token rm by name; a shared name is refused with the IDs", func(t *testing.T) {
		for range 2 {
			if _, _, err := run("token", "create", "ci"); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := run("token", "create", "once"); err != nil {
			t.Fatal(err)
		}
		ids, _, err := run("token", "ls", "-q")
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := run("token", "rm", "once")
		if err != nil || out != "once\n" {
			t.Errorf("token rm once: %q %v", out, err)
		}
		_, _, err = run("token", "rm", "ci")
		if err == nil || !strings.HasPrefix(err.Error(), `token ci: 2 tokens are named "ci"; name one by its ID: `) {
			t.Fatalf("token rm ci: %v", err)
		}
		for _, id := range strings.Fields(ids) {
			if tokenName(t, run, id) == "ci" && !strings.Contains(err.Error(), id) {
				t.Errorf("the error does not list %s: %v", id, err)
			}
		}
	})

	t.Run("scale to a negative number", func(t *testing.T) {
		_, _, err := run("service", "scale", "c", "-1")
		if err == nil || err.Error() != `replicas "-1": want a whole number, 0 or more (replicas cannot be negative)` {
			t.Errorf("err %v", err)
		}
	})

	t.Run("one host port published twice is refused", func(t *testing.T) {
		_, _, err := run("service", "create", "--detach", "--name", "p", "--image", "nginx", "-p", "9090:80", "-p", "9090:81")
		if err == nil || !strings.Contains(err.Error(), "host port 9090/tcp is published twice (for container ports 80 and 81)") {
			t.Errorf("err %v", err)
		}
		if _, _, err := run("service", "create", "--detach", "--name", "p", "--image", "nginx", "-p", "9090:80", "-p", "9090:80/udp"); err != nil {
			t.Errorf("tcp and udp on one host port: %v", err)
		}
	})

	t.Run("logs of a container that never started say so and why", func(t *testing.T) {
		c := api.Container{Meta: api.Meta{ID: "c9", Name: "c-1"}, Spec: api.ContainerSpec{Service: "x", Slot: 1, Node: "n1", Desired: api.ContainerRunning},
			Status: api.ContainerStatus{State: api.ContainerStopped, Reason: `exec: "nope": executable file not found in $PATH`}}
		if err := st.Create(context.Background(), store.KindContainers, &c); err != nil {
			t.Fatal(err)
		}
		_, _, err := run("container", "logs", "c-1")
		if err == nil || err.Error() != `container c-1 never started, so it has no logs; its last error: exec: "nope": executable file not found in $PATH` {
			t.Errorf("err %v", err)
		}
	})
}

func tokenName(t *testing.T, run func(...string) (string, string, error), id string) string {
	t.Helper()
	out, _, err := run("token", "ls", "--format", "{{.id}} {{.name}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == id {
			return f[1]
		}
	}
	return ""
}

// TestFormatYAML (issue 13, item 7): --format yaml prints the list as
// YAML, with the keys of --format json.
func TestFormatYAML(t *testing.T) {
	code := 2
	f := &fakeAPI{
		nodes: []api.Node{{Meta: api.Meta{ID: "n1", Name: "alpha"}}},
		containers: []api.Container{{Meta: api.Meta{ID: "c1", Name: "web-1"},
			Spec:   api.ContainerSpec{Service: "s1", Slot: 1, Node: "n1", Desired: api.ContainerRunning, Driver: "exec", Command: []string{"echo", "123", "a: b"}, Env: map[string]string{"X": "true"}},
			Status: api.ContainerStatus{State: api.ContainerStopped, ExitCode: &code, Reason: "line1\nline2"}}},
	}
	conn := f.serve(t)
	out, _, err := runCLI(t, append([]string{"container", "ls", "--format", "yaml"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	want := `- id: c1
  name: web-1
  spec:
    service: s1
    slot: 1
    node: n1
    command:
      - echo
      - "123"
      - 'a: b'
    env:
      X: "true"
    driver: exec
    desired: Running
  status:
    state: Stopped
    exit_code: 2
    reason: |-
      line1
      line2
  state: Stopped
  node: n1
  node_name: alpha
  error: |-
    line1
    line2
`
	if out != want {
		t.Errorf("--format yaml printed\n%s\nwant\n%s", out, want)
	}
}

// TestServicePsSlots (issue 13, item 7): service ps sorts by slot, not by
// ID, and the two containers of a slot that moves say which is which.
func TestServicePsSlots(t *testing.T) {
	now := time.Now()
	ct := func(id string, slot int, node string, desired api.ContainerState, age time.Duration) api.Container {
		return api.Container{Meta: api.Meta{ID: id, Name: "web-" + strconv.Itoa(slot), CreatedAt: now.Add(-age)},
			Spec: api.ContainerSpec{Service: "s1", Slot: slot, Node: node, Desired: desired}, Status: api.ContainerStatus{State: api.ContainerRunning}}
	}
	f := &fakeAPI{
		nodes:    []api.Node{{Meta: api.Meta{ID: "n1", Name: "alpha"}}, {Meta: api.Meta{ID: "n2", Name: "beta"}}},
		services: []api.Service{{Meta: api.Meta{ID: "s1", Name: "web"}, Spec: api.ServiceSpec{Replicas: 3}}},
		containers: []api.Container{
			ct("a1", 10, "n1", api.ContainerRunning, time.Hour),
			ct("b2", 2, "n1", api.ContainerRunning, time.Hour),
			ct("c3", 1, "n1", api.ContainerTerminated, time.Hour),
			ct("d4", 1, "n2", api.ContainerRunning, time.Minute),
		},
	}
	conn := f.serve(t)
	out, _, err := runCLI(t, append([]string{"service", "ps", "web"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	want := `ID   NAME          STATE     DESIRED      NODE    ADDRESS   PORT   EXIT   STARTED   ERROR
d4   web-1 (new)   Running   Running      beta    -         -      -      -
c3   web-1 (old)   Running   Terminated   alpha   -         -      -      -
b2   web-2         Running   Running      alpha   -         -      -      -
a1   web-10        Running   Running      alpha   -         -      -      -
`
	if out != want {
		t.Errorf("service ps printed\n%s\nwant\n%s", out, want)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// TestEventsFollowFromNow (issue 13, item 7): events -f prints what
// happens from now on, not the history first; --since 0 replays it.
func TestEventsFollowFromNow(t *testing.T) {
	conn, _ := realServerStore(t)
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append(append([]string{}, conn...), args...)...)
	}
	if _, _, err := run("service", "create", "--detach", "--name", "before", "--", "sleep", "1"); err != nil {
		t.Fatal(err)
	}
	n := 0
	follow := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		root := NewRoot()
		var out syncBuffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append(append([]string{"events", "-f"}, args...), conn...))
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		deadline := time.Now().Add(15 * time.Second)
		for ; !strings.Contains(out.String(), "after-"); n++ {
			if time.Now().After(deadline) {
				t.Fatalf("no new event followed:\n%s", out.String())
			}
			if _, _, err := run("service", "create", "--detach", "--name", "after-"+strconv.Itoa(n), "--", "sleep", "1"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if out := follow(); strings.Contains(out, "before") {
		t.Errorf("events -f replayed the history:\n%s", out)
	}
	if out := follow("--since", "0"); !strings.Contains(out, "before") {
		t.Errorf("events -f --since 0 did not replay the history:\n%s", out)
	}
}

// TestFlagHelpText (issue 13, item 7): no flag's usage has a backquote
// (cobra takes the quoted word for the flag's value name: "--org wharf
// org use"), and none says its default twice ("(default: as the update)
// (default 1)").
func TestFlagHelpText(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if strings.Contains(fl.Usage, "`") {
				t.Errorf("%s --%s: a backquote in %q", c.CommandPath(), fl.Name, fl.Usage)
			}
		})
		for _, line := range strings.Split(c.LocalFlags().FlagUsages(), "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%s: two defaults in %q", c.CommandPath(), strings.TrimSpace(line))
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(NewRoot())
	out, _, err := runCLI(t, "up", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  -d, --detach  ", "      --data-dir string  ", "      --org string  "} {
		if !strings.Contains(out, want) {
			t.Errorf("wharf up --help lacks %q:\n%s", want, out)
		}
	}
}

// TestDownFindsUpDataDir (issue 13, item 7): `wharf down` stops the
// cluster of the data dir the last `wharf up` used (the client config
// remembers it), and the messages print the exact command.
func TestDownFindsUpDataDir(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "my cluster")
	if _, err := SaveConfig(Config{Addr: "https://127.0.0.1:7443", UpDataDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "down"); err == nil || err.Error() != "no cluster is running from "+dir {
		t.Errorf("wharf down: %v; want it to look in %s", err, dir)
	}
	other := t.TempDir()
	if _, _, err := runCLI(t, "down", "--data-dir", other); err == nil || err.Error() != "no cluster is running from "+other {
		t.Errorf("wharf down --data-dir: %v", err)
	}
	if got := downCommand(defaultDataDir("up")); got != "wharf down" {
		t.Errorf("downCommand(default) = %q", got)
	}
	if got, want := downCommand(dir), "wharf down --data-dir '"+dir+"'"; got != want {
		t.Errorf("downCommand = %q, want %q", got, want)
	}
}

// TestListFilters (issue 13, item 7): --filter KEY=VALUE on the lists, as
// docker's: one key's values are alternatives, different keys all match.
func TestListFilters(t *testing.T) {
	ct := func(id, name, node string, state api.ContainerState, labels map[string]string) api.Container {
		return api.Container{Meta: api.Meta{ID: id, Name: name}, Spec: api.ContainerSpec{Service: "s1", Node: node, Labels: labels}, Status: api.ContainerStatus{State: state}}
	}
	f := &fakeAPI{
		nodes: []api.Node{{Meta: api.Meta{ID: "n1", Name: "alpha"}, State: api.NodeDeployed, Labels: map[string]string{"zone": "a"}},
			{Meta: api.Meta{ID: "n2", Name: "beta"}, State: api.NodeUnreachable}},
		services: []api.Service{{Meta: api.Meta{ID: "s1", Name: "web"}}, {Meta: api.Meta{ID: "s2", Name: "db"}}},
		containers: []api.Container{
			ct("c1", "web-1", "n1", api.ContainerRunning, map[string]string{"tier": "front"}),
			ct("c2", "web-2", "n2", api.ContainerStopped, nil),
			ct("c3", "db-1", "n2", api.ContainerRunning, map[string]string{"tier": "back"}),
		},
	}
	conn := f.serve(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"container", "ls", "-q", "--filter", "node=alpha"}, "c1\n"},
		{[]string{"container", "ls", "-q", "--filter", "node=n2"}, "c2\nc3\n"},
		{[]string{"container", "ls", "-q", "--filter", "state=running"}, "c1\nc3\n"},
		{[]string{"container", "ls", "-q", "--filter", "state=running", "--filter", "node=beta"}, "c3\n"},
		{[]string{"container", "ls", "-q", "-f", "name=web", "-f", "name=db"}, "c1\nc2\nc3\n"},
		{[]string{"container", "ls", "-q", "--filter", "label=tier"}, "c1\nc3\n"},
		{[]string{"container", "ls", "-q", "--filter", "label=tier=back"}, "c3\n"},
		{[]string{"container", "ls", "-q", "--filter", "id=c2"}, "c2\n"},
		{[]string{"service", "ls", "-q", "--filter", "name=we"}, "s1\n"},
		{[]string{"node", "ls", "-q", "--filter", "label=zone=a"}, "n1\n"},
		{[]string{"node", "ls", "-q", "--filter", "state=unreachable"}, "n2\n"},
		{[]string{"service", "ps", "web", "-q", "--filter", "node=beta"}, "c2\nc3\n"},
	} {
		out, _, err := runCLI(t, append(c.args, conn...)...)
		if err != nil || out != c.want {
			t.Errorf("%v: %q, %v; want %q", c.args, out, err, c.want)
		}
	}
	_, _, err := runCLI(t, append([]string{"service", "ls", "--filter", "node=alpha"}, conn...)...)
	if err == nil || err.Error() != `--filter "node=alpha": this list has no key "node"; use one of: id, name, label, state` {
		t.Errorf("an unknown key: %v", err)
	}
	_, _, err = runCLI(t, append([]string{"token", "ls", "--filter", "name"}, conn...)...)
	if err == nil || err.Error() != `--filter "name": want KEY=VALUE, such as name=web (keys: id, name, label)` {
		t.Errorf("no value: %v", err)
	}
}

// TestNodeNames (issue 13, item 7): where a list shows a node, its
// template's {{.Node}} is the node's name, as the table's; JSON keeps the
// ID in "node".
func TestNodeNames(t *testing.T) {
	f := &fakeAPI{
		nodes: []api.Node{{Meta: api.Meta{ID: "a10e787f", Name: "alpha"}}},
		containers: []api.Container{{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Service: "s1", Slot: 1, Node: "a10e787f"}},
			{Meta: api.Meta{ID: "c2", Name: "web-2"}, Spec: api.ContainerSpec{Service: "s1", Slot: 2, Node: "gone"}}},
	}
	conn := f.serve(t)
	out, _, err := runCLI(t, append([]string{"container", "ls", "--format", "{{.Name}} {{.Node}} {{.node}}"}, conn...)...)
	if want := "web-1 alpha a10e787f\nweb-2 gone gone\n"; err != nil || out != want {
		t.Errorf("--format printed %q, %v; want %q", out, err, want)
	}
	out, _, err = runCLI(t, append([]string{"container", "ls", "--format", "json"}, conn...)...)
	if err != nil || !strings.Contains(out, `"node": "a10e787f",`) || !strings.Contains(out, `"node_name": "alpha"`) {
		t.Errorf("--format json: %v\n%s", err, out)
	}
}

// TestServiceUpdateEveryField (issue 13, item 7): service update changes
// any field create sets, adds to lists and maps, and removes from them
// with the -rm flags.
func TestServiceUpdateEveryField(t *testing.T) {
	conn, _ := realServerStore(t)
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append(append([]string{}, conn...), args...)...)
	}
	if _, _, err := run("service", "create", "--detach", "--name", "web", "--image", "nginx", "-e", "A=1", "-e", "DEBUG=1", "--label", "tier=front", "--label", "team=x",
		"--constraint", "zone==a", "--constraint", "disk==ssd", "-p", "8080:80", "-p", "53/udp", "--affinity", "service!=web"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run("service", "update", "--detach", "web", "--env-rm", "DEBUG", "-e", "B=2", "--label-rm", "team", "--constraint-rm", "zone==a", "--constraint", "zone==b",
		"--publish-rm", "53/udp", "-p", "9090:80", "--affinity-rm", "service!=web", "--strategy", "binpack", "--memory", "512M", "--cpus", "1.5",
		"--reserve-memory", "64M", "--autorestart", "always", "--entrypoint", "/bin/sh -c", "--tag", "gpu"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run("service", "inspect", "web")
	if err != nil {
		t.Fatal(err)
	}
	var svcs []api.Service
	if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	s := svcs[0].Spec
	check := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s = %s, want %s", what, g, w)
		}
	}
	check("env", s.Env, map[string]string{"A": "1", "B": "2"})
	check("labels", s.Labels, map[string]string{"tier": "front"})
	check("constraints", s.Constraints, []string{"disk==ssd", "zone==b"})
	check("ports", s.Ports, []api.PortSpec{{ContainerPort: 80, HostPort: 9090}})
	check("affinities", s.Affinities, []string(nil))
	check("tags", s.Tags, []string{"gpu"})
	check("resources", s.Resources, api.Resources{MemoryBytes: 512 << 20, NanoCPUs: 15e8})
	check("reservations", s.Reservations, api.Resources{MemoryBytes: 64 << 20})
	check("entrypoint", s.Entrypoint, []string{"/bin/sh", "-c"})
	if !strings.EqualFold(s.Strategy, "binpack") || !strings.EqualFold(s.Autorestart, "always") {
		t.Errorf("strategy %q, autorestart %q", s.Strategy, s.Autorestart)
	}
	if _, _, err := run("service", "update", "--detach", "web", "--", "nginx", "-g", "daemon off;"); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run("service", "inspect", "web")
	if !strings.Contains(out, `"command": [
        "nginx",
        "-g",
        "daemon off;"
      ]`) {
		t.Errorf("the command was not replaced:\n%s", out)
	}
	if _, _, err := run("service", "update", "--detach", "web", "--reserve-memory", "0", "--cpus", "0"); err != nil {
		t.Fatal(err)
	}
	out, _, _ = run("service", "inspect", "web")
	svcs = nil
	if err := json.Unmarshal([]byte(out), &svcs); err != nil {
		t.Fatal(err)
	}
	check("reservations after --reserve-memory 0", svcs[0].Spec.Reservations, api.Resources{})
	check("resources after --cpus 0", svcs[0].Spec.Resources, api.Resources{MemoryBytes: 512 << 20})
	if _, _, err := run("service", "update", "web"); err == nil || !strings.HasPrefix(err.Error(), "nothing to change") {
		t.Errorf("an empty update: %v", err)
	}
}
