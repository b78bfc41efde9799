package apiserver

import (
	"context"
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// execLogs is fakeLogs that can also exec: it answers with the command.
type execLogs struct{ *fakeLogs }

func (execLogs) ContainerExec(_ context.Context, c *api.Container, cmd []string) (api.ExecResult, error) {
	return api.ExecResult{ExitCode: len(cmd), Output: c.Name + ":" + cmd[0]}, nil
}

func TestExecAndRestartRoutes(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.cfg.Logs = execLogs{s.cfg.Logs.(*fakeLogs)} })
	web := e.createService("web", 1)
	putContainer(t, e, "c1", "web-1", web.ID, 1, "n1")
	// Not running yet: 409.
	code, b := e.do("POST", "/v1/containers/web-1/exec", e.admin, `{"cmd":["ls"]}`)
	if code != http.StatusConflict {
		t.Fatalf("exec in a pending container: %d %s", code, b)
	}
	var c api.Container
	if err := e.st.Modify(t.Context(), store.KindContainers, "c1", &c, func() ([]api.Event, error) {
		c.Status.State = api.ContainerRunning
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	var res api.ExecResult
	e.call("POST", "/v1/containers/web-1/exec", `{"cmd":["ls","-l"]}`, 200, &res)
	if res.ExitCode != 2 || res.Output != "web-1:ls" {
		t.Fatalf("exec: %+v", res)
	}
	if code, b := e.do("POST", "/v1/containers/web-1/exec", e.admin, `{"cmd":[]}`); code != http.StatusBadRequest {
		t.Fatalf("exec without a command: %d %s", code, b)
	}

	var svc api.Service
	e.call("POST", "/v1/services/web/restart", "", http.StatusAccepted, &svc)
	if svc.RestartGeneration != 1 {
		t.Fatalf("restart: %+v", svc)
	}
	e.call("POST", "/v1/services/web/stop", "", 200, nil)
	if code, b := e.do("POST", "/v1/services/web/restart", e.admin, ""); code != http.StatusConflict {
		t.Fatalf("restart of a stopped service: %d %s", code, b)
	}
}

func TestExecWithoutExecer(t *testing.T) {
	e := newEnv(t)
	web := e.createService("web", 1)
	putContainer(t, e, "c1", "web-1", web.ID, 1, "n1")
	var c api.Container
	if err := e.st.Modify(t.Context(), store.KindContainers, "c1", &c, func() ([]api.Event, error) {
		c.Status.State = api.ContainerRunning
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if code, b := e.do("POST", "/v1/containers/web-1/exec", e.admin, `{"cmd":["ls"]}`); code != http.StatusServiceUnavailable {
		t.Fatalf("exec without a gateway: %d %s", code, b)
	}
}
