package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// streamingFake is the fake driver with a Streamer whose execs are
// counted; it makes exec IDs "e-<container>".
type streamingFake struct {
	*fake.Driver
	started []string
}

func (f *streamingFake) ExecCreate(_ context.Context, id string, _ api.StreamExecConfig) (string, error) {
	return "e-" + id, nil
}

func (f *streamingFake) ExecStart(_ context.Context, eid string, _, _ bool) (runtime.Stream, error) {
	f.started = append(f.started, eid)
	return nil, nil
}

func (f *streamingFake) ExecResize(context.Context, string, uint, uint) error { return nil }

func (f *streamingFake) ExecInspect(context.Context, string) (api.StreamExecStatus, error) {
	return api.StreamExecStatus{ExitCode: 1}, nil
}

func (f *streamingFake) Attach(context.Context, string, api.StreamAttach) (runtime.Stream, bool, error) {
	return nil, false, errors.New("not in this test")
}

func (f *streamingFake) Resize(context.Context, string, uint, uint) error { return nil }

func (f *streamingFake) Top(context.Context, string, string) (api.StreamTop, error) {
	return api.StreamTop{}, nil
}

func (f *streamingFake) Stats(context.Context, string, bool) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("{}")), nil
}

// TestAgentStreamRefusals: the agent starts, resizes and inspects only
// the execs it made (an engine exec ID it did not make is not found, even
// from the server), and a driver without streams answers 501 naming it.
func TestAgentStreamRefusals(t *testing.T) {
	ctx := t.Context()
	sf := &streamingFake{Driver: fake.New()}
	if _, err := sf.Start(ctx, runtime.Spec{ID: "c1", Name: "web-1", Command: []string{"sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	plain := fake.New()
	if _, err := plain.Start(ctx, runtime.Spec{ID: "p1", Name: "plain-1", Command: []string{"sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{sf, plain}}, log: slog.New(slog.DiscardHandler)}
	a.exec = newExecutor(a)
	s := newAgentSession(a, nil)
	call := func(method, path, body string) *http.Response {
		rec := httptest.NewRecorder()
		s.srv.Handler.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec.Result()
	}
	for _, tc := range []struct {
		name, method, path, body string
		kind                     error
	}{
		{"start of an exec it did not make", http.MethodPost, "/agent/v1/execs/e-c1/start?detach=1", "", errdefs.ErrNotFound},
		{"resize of an exec it did not make", http.MethodPost, "/agent/v1/execs/someone-elses/resize?h=1&w=1", "", errdefs.ErrNotFound},
		{"inspect of an exec it did not make", http.MethodGet, "/agent/v1/execs/someone-elses", "", errdefs.ErrNotFound},
		{"exec with a driver that cannot", http.MethodPost, "/agent/v1/containers/p1/execs", `{"cmd":["sh"]}`, errdefs.ErrNotImplemented},
		{"attach with a driver that cannot", http.MethodPost, "/agent/v1/containers/p1/attach?stream=1", "", errdefs.ErrNotImplemented},
		{"top with a driver that cannot", http.MethodGet, "/agent/v1/containers/p1/top", "", errdefs.ErrNotImplemented},
		{"resize with a driver that cannot", http.MethodPost, "/agent/v1/containers/p1/resize?h=1&w=1", "", errdefs.ErrNotImplemented},
		{"resize without a size", http.MethodPost, "/agent/v1/containers/c1/resize?h=x", "", errdefs.ErrInvalid},
		{"exec in an unknown container", http.MethodPost, "/agent/v1/containers/nope/execs", `{"cmd":["sh"]}`, errdefs.ErrNotFound},
		{"exec without a command", http.MethodPost, "/agent/v1/containers/c1/execs", `{}`, errdefs.ErrInvalid},
	} {
		resp := call(tc.method, tc.path, tc.body)
		if err := errhttp.Read(resp); !errors.Is(err, tc.kind) {
			t.Errorf("%s: answered %d %v, want %v", tc.name, resp.StatusCode, err, tc.kind)
		}
	}
	if len(sf.started) != 0 {
		t.Fatalf("execs it did not make were started: %v", sf.started)
	}
	if resp := call(http.MethodPost, "/agent/v1/containers/c1/execs", `{"cmd":["sh"]}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("exec create: %d", resp.StatusCode)
	}
	if resp := call(http.MethodPost, "/agent/v1/execs/e-c1/start?detach=1", ""); resp.StatusCode != http.StatusNoContent || len(sf.started) != 1 {
		t.Fatalf("start of its own exec: %d, started %v", resp.StatusCode, sf.started)
	}
}
