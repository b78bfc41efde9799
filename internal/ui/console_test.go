package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
)

// fakeExec is the agents: it records each command and answers with
// output that holds markup (which a page must escape).
type fakeExec struct {
	fakeLogs
	mu   sync.Mutex
	cmds [][]string
}

func (f *fakeExec) ContainerExec(_ context.Context, c *api.Container, cmd []string) (api.ExecResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, cmd)
	return api.ExecResult{ExitCode: 3, Output: "ran in " + c.Name + " <b>bold</b>\n"}, nil
}

func (f *fakeExec) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cmds)
}

// consoleEnv has a service with one container in state.
func consoleEnv(t *testing.T, state api.ContainerState) (*env, *fakeExec, *api.Container) {
	ex := &fakeExec{}
	e := newEnv(t, func(c *domain.Config) { c.Logs = ex })
	svc := e.service("web", 1)
	ctr := &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Service: svc.ID, Slot: 1, Node: "n1"},
		Status: api.ContainerStatus{State: state}}
	if err := e.st.Create(e.ctx, store.KindContainers, ctr); err != nil {
		t.Fatal(err)
	}
	return e, ex, ctr
}

// TestConsole: the service page links its containers; an admin's
// container page has the console, which runs the command, split into
// arguments without a shell, and shows its exit code and (escaped) output.
func TestConsole(t *testing.T) {
	e, ex, ctr := consoleEnv(t, api.ContainerRunning)
	b := e.signedIn(e.admin)
	wantIn(t, "service page", b.get("/ui/services/"+ctr.Spec.Service).body, `href="/ui/containers/c1"`)
	page := b.get("/ui/containers/c1")
	wantCode(t, "container page", page, http.StatusOK)
	wantIn(t, "container page", page.body, "web-1", `action="/ui/containers/c1/exec"`)

	line := `echo "hello  world" 'a "b"' c\ d $HOME;rm`
	r := b.post("/ui/containers/c1/exec", url.Values{"csrf": {csrfOf(t, page.body)}, "cmd": {line}})
	wantCode(t, "exec", r, http.StatusOK)
	wantIn(t, "exec", r.body, "Exit code <strong>3</strong>", "ran in web-1 &lt;b&gt;bold&lt;/b&gt;")
	if strings.Contains(r.body, "<b>bold") {
		t.Error("the command's output was not escaped")
	}
	want := [][]string{{"echo", "hello  world", `a "b"`, "c d", "$HOME;rm"}}
	if got := ex.calls(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("ran %q, want %q", got, want)
	}
}

// TestConsoleRefusals: a bad command line and a stopped container are
// shown with the form; a deploy token (which may not exec) sees no form
// and its forged POST gets the domain's 403; a POST without the form
// token is refused. None of them runs anything.
func TestConsoleRefusals(t *testing.T) {
	e, ex, _ := consoleEnv(t, api.ContainerStopped)
	b := e.signedIn(e.admin)
	csrf := csrfOf(t, b.get("/ui/containers/c1").body)
	for _, c := range []struct {
		what, cmd string
		status    int
		msg       string
	}{
		{"empty", "   ", http.StatusBadRequest, "required: the command to run"},
		{"unclosed quote", `echo 'hi`, http.StatusBadRequest, "is not closed"},
		{"trailing backslash", `echo \`, http.StatusBadRequest, "ends with a backslash"},
		{"stopped container", "ls", http.StatusConflict, "not running"},
	} {
		r := b.post("/ui/containers/c1/exec", url.Values{"csrf": {csrf}, "cmd": {c.cmd}})
		wantCode(t, c.what, r, c.status)
		wantIn(t, c.what, r.body, c.msg, `data-testid="exec-error"`, `action="/ui/containers/c1/exec"`)
	}

	dep := e.signedIn(e.token("ci", api.RoleDeploy))
	page := dep.get("/ui/containers/c1")
	wantCode(t, "deploy's container page", page, http.StatusOK)
	if strings.Contains(page.body, "/exec") {
		t.Error("the deploy role's page offers the console")
	}
	r := dep.post("/ui/containers/c1/exec", url.Values{"csrf": {csrfOf(t, page.body)}, "cmd": {"ls"}})
	wantCode(t, "deploy's forged exec", r, http.StatusForbidden)

	r = b.post("/ui/containers/c1/exec", url.Values{"cmd": {"ls"}})
	wantCode(t, "exec without the form token", r, http.StatusForbidden)
	if got := ex.calls(); len(got) != 0 {
		t.Errorf("refused execs ran %q", got)
	}
}

// TestSplitArgs: the console's command line reading.
func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		"ls -l /":              {"ls", "-l", "/"},
		"  a\tb\n c ":          {"a", "b", "c"},
		`sh -c 'echo $X | wc'`: {"sh", "-c", "echo $X | wc"},
		`a"b c"d`:              {"ab cd"},
		`"x\"y\\z\n"`:          {`x"y\z\n`},
		`''`:                   {""},
		`it\'s`:                {"it's"},
		"ünïcode 'ø'":          {"ünïcode", "ø"},
	} {
		got, err := splitArgs(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", `"open`, `'open`, `end\`} {
		if got, err := splitArgs(in); err == nil {
			t.Errorf("splitArgs(%q) = %q, want an error", in, got)
		}
	}
}
