package ui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
)

// fakeLogs is a node's log source: two lines, and a third when followed.
type fakeLogs struct{}

func (fakeLogs) ContainerLogs(_ context.Context, c *api.Container, follow bool, _ int, w io.Writer) error {
	fmt.Fprintf(w, "hello from %s\nan ERROR here\n", c.Name)
	if follow {
		fmt.Fprint(w, "later line\n")
	}
	return nil
}

// TestLogs: a service's logs page shows its containers' lines, searched;
// the stream sends them, then new ones, a line an event.
func TestLogs(t *testing.T) {
	e := newEnv(t, func(c *domain.Config) { c.Logs = fakeLogs{} })
	svc := e.service("web", 1)
	ctr := &api.Container{Meta: api.Meta{ID: "c1", Name: "web-1"}, Spec: api.ContainerSpec{Service: svc.ID, Slot: 1, Node: "n1"},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	if err := e.st.Create(e.ctx, store.KindContainers, ctr); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(e.admin)
	r := b.get("/ui/services/" + svc.ID + "/logs")
	wantCode(t, "logs", r, http.StatusOK)
	wantIn(t, "logs", r.body, "hello from web-1", "an ERROR here")
	r = b.get("/ui/services/" + svc.ID + "/logs?q=error")
	wantIn(t, "searched logs", r.body, "an ERROR here", `data-follow="/ui/services/`+svc.ID+`/logs/stream?q=error"`)
	if strings.Contains(r.body, "hello from") {
		t.Error("the search kept a line without the text")
	}

	// Followed logs go on (new containers join) until the browser leaves.
	got := followUntil(t, b, "/ui/services/"+svc.ID+"/logs/stream", "later line")
	want := []string{"web-1 | hello from web-1", "web-1 | an ERROR here", "web-1 | later line"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream sent %q, want %q", got, want)
	}

}

// TestContainerLogs: a container's logs page shows that container's lines
// alone, searched, links back to it, and its stream follows it.
func TestContainerLogs(t *testing.T) {
	e := newEnv(t, func(c *domain.Config) { c.Logs = fakeLogs{} })
	svc := e.service("web", 2)
	for i, id := range []string{"c1", "c2"} {
		ctr := &api.Container{Meta: api.Meta{ID: id, Name: fmt.Sprintf("web-%d", i+1)}, Spec: api.ContainerSpec{Service: svc.ID, Slot: i + 1, Node: "n1"},
			Status: api.ContainerStatus{State: api.ContainerRunning}}
		if err := e.st.Create(e.ctx, store.KindContainers, ctr); err != nil {
			t.Fatal(err)
		}
	}
	b := e.signedIn(e.token("viewer", api.RoleReadOnly)) // logs are for reading
	r := b.get("/ui/containers/c2")
	wantIn(t, "container page", r.body, `href="/ui/containers/c2/logs"`)
	r = b.get("/ui/containers/c2/logs?q=hello")
	wantCode(t, "container logs", r, http.StatusOK)
	wantIn(t, "container logs", r.body, "hello from web-2", `href="/ui/containers/c2"`, `data-follow="/ui/containers/c2/logs/stream?q=hello"`)
	if strings.Contains(r.body, "web-1") || strings.Contains(r.body, "an ERROR here") {
		t.Error("a container's searched logs show another container's lines, or a line without the text")
	}
	wantCode(t, "an unknown container's logs", b.get("/ui/containers/nope/logs"), http.StatusNotFound)

	got := followUntil(t, b, "/ui/containers/c2/logs/stream", "later line")
	if len(got) != 3 || !strings.HasSuffix(got[0], "hello from web-2") {
		t.Errorf("the container's stream sent %q, want its three lines", got)
	}
}

// followUntil opens a logs stream and returns its lines up to the first
// that ends with last.
func followUntil(t *testing.T, b *browser, path, last string) []string {
	t.Helper()
	// A guard against a hung test, not a timed assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.e.srv.URL+path, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			got = append(got, l)
			if strings.HasSuffix(l, last) {
				break
			}
		}
	}
	return got
}
