package apiserver

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

func TestContainersAndLogs(t *testing.T) {
	e := newEnv(t)
	web := e.createService("web", 3)
	other := e.createService("other", 1)
	putContainer(t, e, "c1", "web-1", web.ID, 1, "n1")
	putContainer(t, e, "c2", "web-2", web.ID, 2, "n2")
	putContainer(t, e, "c3", "web-3", web.ID, 3, "")
	putContainer(t, e, "c4", "other-1", other.ID, 1, "down")
	e.logs.mu.Lock()
	e.logs.lines["c1"] = []string{"one", "two", "three"}
	e.logs.lines["c2"] = []string{"alpha"}
	e.logs.mu.Unlock()

	ids := func(path string) []string {
		var l api.List[api.Container]
		e.call("GET", path, "", 200, &l)
		var out []string
		for _, c := range l.Items {
			out = append(out, c.ID)
		}
		return out
	}
	if got := ids("/v1/containers?service=web"); !slices.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Fatalf("by service name: %v", got)
	}
	if got := ids("/v1/containers?service=" + other.ID + "&limit=1"); !slices.Equal(got, []string{"c4"}) {
		t.Fatalf("by service ID: %v", got)
	}
	if got := ids("/v1/containers?node=n2"); !slices.Equal(got, []string{"c2"}) {
		t.Fatalf("by node: %v", got)
	}
	e.call("GET", "/v1/containers?service=nope", "", 404, nil)
	var c api.Container
	e.call("GET", "/v1/containers/web-2", "", 200, &c)
	if c.ID != "c2" {
		t.Fatalf("by name: %+v", c)
	}
	e.call("GET", "/v1/containers/web-9", "", 404, nil)

	code, b := e.do("GET", "/v1/containers/web-1/logs?tail=2", e.admin, "")
	if code != 200 || string(b) != "two\nthree\n" {
		t.Fatalf("logs: %d %q", code, b)
	}
	code, b = e.do("GET", "/v1/containers/web-3/logs", e.admin, "")
	if code != http.StatusConflict || !strings.Contains(errDetail(t, b).Message, "not placed") {
		t.Fatalf("unplaced logs: %d %s", code, b)
	}
	code, b = e.do("GET", "/v1/containers/c4/logs", e.admin, "")
	if code != http.StatusServiceUnavailable || !strings.Contains(errDetail(t, b).Message, "not connected") {
		t.Fatalf("disconnected logs: %d %s", code, b)
	}
	e.call("GET", "/v1/containers/nope/logs", "", 404, nil)
	e.call("GET", "/v1/containers/c1/logs?tail=-1", "", 400, nil)

	code, b = e.do("GET", "/v1/services/web/logs", e.admin, "")
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(lines)
	if code != 200 || !slices.Equal(lines, []string{"web-1 | one", "web-1 | three", "web-1 | two", "web-2 | alpha"}) {
		t.Fatalf("service logs: %d %q", code, b)
	}
	code, _ = e.do("GET", "/v1/services/other/logs", e.admin, "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("service logs, node down: %d", code)
	}
}

func TestLogsFollow(t *testing.T) {
	e := newEnv(t)
	web := e.createService("web", 2)
	putContainer(t, e, "c1", "web-1", web.ID, 1, "n1")
	putContainer(t, e, "c2", "web-2", web.ID, 2, "n1")
	live := make(chan string)
	e.logs.mu.Lock()
	e.logs.live = live
	e.logs.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/services/web/logs?follow=1", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := e.srv.Client().Do(req) // headers come before any line
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	for _, l := range []string{"live 1", "live 2", "live 3"} {
		select {
		case live <- l:
		case <-time.After(5 * time.Second):
			t.Fatal("log source not reading")
		}
		got, err := rd.ReadString('\n')
		if err != nil || !strings.HasSuffix(got, " | "+l+"\n") || !strings.HasPrefix(got, "web-") {
			t.Fatalf("followed line %q, %v", got, err)
		}
	}

	// A container that starts while the stream is open joins it: first
	// placed (no logs yet), then reported Starting by its node.
	e.logs.mu.Lock()
	e.logs.lines["c3"] = []string{"new container"}
	e.logs.mu.Unlock()
	c3 := api.Container{Meta: api.Meta{ID: "c3", Name: "web-3"},
		Spec: api.ContainerSpec{Service: web.ID, Slot: 3, Node: "n2", Driver: "exec", Desired: api.ContainerRunning}}
	if err := e.st.Create(t.Context(), store.KindContainers, &c3); err != nil {
		t.Fatal(err)
	}
	c3.Status.State = api.ContainerStarting
	if err := e.st.Update(t.Context(), store.KindContainers, &c3); err != nil {
		t.Fatal(err)
	}
	if got, err := rd.ReadString('\n'); err != nil || got != "web-3 | new container\n" {
		t.Fatalf("line of a new container %q, %v", got, err)
	}
	// Another service's container does not.
	other := e.createService("other", 1)
	e.logs.mu.Lock()
	e.logs.lines["c9"] = []string{"not mine"}
	e.logs.mu.Unlock()
	c9 := api.Container{Meta: api.Meta{ID: "c9", Name: "other-1"},
		Spec:   api.ContainerSpec{Service: other.ID, Slot: 1, Node: "n1", Driver: "exec", Desired: api.ContainerRunning},
		Status: api.ContainerStatus{State: api.ContainerRunning}}
	if err := e.st.Create(t.Context(), store.KindContainers, &c9); err != nil {
		t.Fatal(err)
	}
	// The service removed (as the controller does once its containers are
	// gone) ends the stream; nothing of other-1 came.
	if err := e.st.Delete(t.Context(), store.KindServices, web.ID, 0); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(rd)
	if err != nil || strings.Contains(string(rest), "not mine") {
		t.Fatalf("after the service was removed: %q, %v", rest, err)
	}
}

func TestLogsFollowWaitsForPlacement(t *testing.T) {
	e := newEnv(t)
	web := e.createService("web", 1)
	putContainer(t, e, "c1", "web-1", web.ID, 1, "")
	e.call("GET", "/v1/services/web/logs", "", http.StatusConflict, nil)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/services/web/logs?follow=1", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("follow before placement: %d", resp.StatusCode)
	}
	e.logs.mu.Lock()
	e.logs.lines["c1"] = []string{"placed at last"}
	e.logs.mu.Unlock()
	var c api.Container
	if err := e.st.Get(t.Context(), store.KindContainers, "c1", &c); err != nil {
		t.Fatal(err)
	}
	c.Spec.Node, c.Status.State = "down", api.ContainerRunning
	if err := e.st.Update(t.Context(), store.KindContainers, &c); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(got, "web-1 | wharf: its logs ended: ") || !strings.Contains(got, "not connected") {
		t.Fatalf("a followed container whose node is down: %q, %v", got, err)
	}
}
