package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

// noExec is a driver that cannot exec (it hides the fake's Exec).
type noExec struct{ runtime.Driver }

// The agent answers the gateway's requests with the shared JSON error body
// and the REST API's codes, which the gateway reads back into their kinds.
func TestAgentAnswersErrorsAsTheSharedBody(t *testing.T) {
	ctx := t.Context()
	fd := fake.New()
	if _, err := fd.Start(ctx, runtime.Spec{ID: "c1", Name: "web-1", Command: []string{"sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := fd.Start(ctx, runtime.Spec{ID: "c2", Name: "web-2", Command: []string{"sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	if err := fd.Stop(ctx, "c2", time.Second); err != nil {
		t.Fatal(err)
	}
	other := fake.New()
	if _, err := other.Start(ctx, runtime.Spec{ID: "x1", Name: "x-1", Command: []string{"sleep", "600"}}); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{Drivers: []runtime.Driver{fd, noExec{other}}}, log: slog.New(slog.DiscardHandler)}
	a.exec = newExecutor(a)
	s := newAgentSession(a, nil)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
		kind                     error
	}{
		{"exec in an unknown container", http.MethodPost, "/agent/v1/containers/nope/exec", `{"cmd":["true"]}`,
			http.StatusNotFound, api.CodeNotFound, errdefs.ErrNotFound},
		{"exec in a stopped container", http.MethodPost, "/agent/v1/containers/c2/exec", `{"cmd":["true"]}`,
			http.StatusConflict, api.CodeConflict, errdefs.ErrConflict},
		{"exec with a driver that cannot", http.MethodPost, "/agent/v1/containers/x1/exec", `{"cmd":["true"]}`,
			http.StatusNotImplemented, api.CodeNotImplemented, errdefs.ErrNotImplemented},
		{"exec without a command", http.MethodPost, "/agent/v1/containers/c1/exec", `{}`,
			http.StatusBadRequest, api.CodeInvalid, errdefs.ErrInvalid},
		{"logs of an unknown container", http.MethodGet, "/agent/v1/containers/nope/logs", "",
			http.StatusNotFound, api.CodeNotFound, errdefs.ErrNotFound},
		{"logs with a bad tail", http.MethodGet, "/agent/v1/containers/c1/logs?tail=-1", "",
			http.StatusBadRequest, api.CodeInvalid, errdefs.ErrInvalid},
		{"assignments that do not decode", http.MethodPut, "/agent/v1/assignments", `{`,
			http.StatusBadRequest, api.CodeInvalid, errdefs.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.srv.Handler.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			resp := rec.Result()
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("answered %d %q: %s, want %d application/json", resp.StatusCode, resp.Header.Get("Content-Type"), rec.Body, tc.status)
			}
			err := errhttp.Read(resp)
			var we *errhttp.Error
			if !errors.As(err, &we) || we.Code != tc.code || we.Message == "" || !errors.Is(err, tc.kind) {
				t.Fatalf("body %s read as %#v, want code %q of kind %v", rec.Body, err, tc.code, tc.kind)
			}
		})
	}
}

// The agent reads the gateway's error answers (the shared JSON body, or the
// plain text of a gateway of an earlier version) back into their kinds.
func TestAgentReadsGatewayErrors(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"/notfound": {http.StatusNotFound, `{"error":{"code":"not_found","message":"no such container"}}`},
		"/invalid":  {http.StatusBadRequest, `{"error":{"code":"invalid","message":"hostname: bad","field":"hostname"}}`},
		"/removed":  {http.StatusForbidden, `{"error":{"code":"node_removed","message":"node n1 has been removed from the cluster"}}`},
		"/conflict": {http.StatusConflict, `{"error":{"code":"conflict","message":"containers keep changing"}}`},
		"/oldtext":  {http.StatusServiceUnavailable, "status report: store down\n"},
		"/newcode":  {http.StatusServiceUnavailable, `{"error":{"code":"some_future_code","message":"later"}}`},
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		a := answers[r.URL.Path]
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	defer gw.Close()
	s := &agentSession{client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", gw.Listener.Addr().String())
		},
	}}}
	for path, want := range map[string]error{
		"/notfound": errdefs.ErrNotFound, "/invalid": errdefs.ErrInvalid, "/removed": errdefs.ErrNodeRemoved,
		"/conflict": errdefs.ErrConflict, "/oldtext": errdefs.ErrUnavailable, "/newcode": errdefs.ErrUnavailable,
	} {
		err := s.call(t.Context(), path, api.StatusReport{}, nil, 5*time.Second)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want an error of kind %v", path, err, want)
		}
	}
	err := s.call(t.Context(), "/removed", nil, nil, 5*time.Second)
	if !errors.Is(err, errNodeRemoved) || err.Error() != "this node has been removed from the cluster: node n1 has been removed from the cluster" {
		t.Errorf("node removed: %q", err)
	}
	err = s.call(t.Context(), "/oldtext", nil, nil, 5*time.Second)
	if err == nil || !strings.HasSuffix(err.Error(), ": status report: store down") {
		t.Errorf("plain text answer: %q, want its text kept", err)
	}
}
