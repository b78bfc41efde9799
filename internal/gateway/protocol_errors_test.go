package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// fakeAgent is a session opened with a node's certificate whose answers
// to the gateway's requests come from a handler, and over which requests
// go to the gateway as its agent's would.
type fakeAgent struct {
	client *http.Client
	mux    *yamux.Session
}

func dialFakeAgent(t *testing.T, e *env, cert tls.Certificate, h http.Handler) *fakeAgent {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.ca.CertPEM())
	conn, err := tls.Dial("tcp", e.gw.Load().Addr(), &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	ycfg := yamux.DefaultConfig()
	ycfg.LogOutput = io.Discard
	mux, err := yamux.Client(conn, ycfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mux.Close() })
	go func() { _ = http.Serve(mux, h) }()
	return &fakeAgent{mux: mux, client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return mux.Open() },
	}}}
}

// post sends body to the gateway's path and returns the status and the
// error body of the answer (which must be JSON when it is not a 2xx).
func (a *fakeAgent) post(t *testing.T, path, body string) (int, api.ErrorBody) {
	t.Helper()
	resp, err := a.client.Post("http://gateway"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if resp.StatusCode/100 != 2 && (resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &eb) != nil) {
		t.Fatalf("%s answered %d %q: %q, want the JSON error body", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return resp.StatusCode, eb
}

// The agent protocol speaks the REST API's error dialect both ways: the
// gateway answers an agent's bad requests with api.ErrorBody and its code,
// and reads the agent's answers back into errdefs kinds.
func TestAgentProtocolErrors(t *testing.T) {
	e := newEnv(t)
	cert, serial := nodeCert(t, e.ca, "n1")
	if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: "n1"}, State: api.NodeDeploying, CertSerial: serial}); err != nil {
		t.Fatal(err)
	}
	// The fake agent answers the gateway's exec requests as the path says.
	answers := map[string]struct {
		status int
		body   string
	}{
		"gone":    {http.StatusNotFound, `{"error":{"code":"not_found","message":"no container gone on this node"}}`},
		"stopped": {http.StatusConflict, `{"error":{"code":"conflict","message":"exec in stopped: container is not running"}}`},
		"noexec":  {http.StatusNotImplemented, `{"error":{"code":"not_implemented","message":"the fake driver cannot run commands in containers yet"}}`},
		"broken":  {http.StatusServiceUnavailable, `{"error":{"code":"unavailable","message":"docker is down"}}`},
		"old":     {http.StatusNotFound, "no container old on this node\n"}, // an agent of an earlier version
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/agent/v1/assignments" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		a := answers[strings.Split(strings.TrimPrefix(r.URL.Path, "/agent/v1/containers/"), "/")[0]]
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	})
	agent := dialFakeAgent(t, e, cert, handler)

	t.Run("gateway answers", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, body string
			status           int
			code, field      string
		}{
			{"hello with a bad host name", "/agent/v1/hello", `{"hostname":"a b","os":"linux"}`, http.StatusBadRequest, api.CodeInvalid, "hostname"},
			{"status report that does not decode", "/agent/v1/status", `{`, http.StatusBadRequest, api.CodeInvalid, ""},
			{"renewal with a bad CSR", "/agent/v1/renew", `{"csr":"x"}`, http.StatusBadRequest, api.CodeInvalid, ""},
		} {
			status, eb := agent.post(t, tc.path, tc.body)
			if status != tc.status || eb.Error.Code != tc.code || eb.Error.Field != tc.field || eb.Error.Message == "" {
				t.Errorf("%s: %d %+v, want %d code %q field %q", tc.name, status, eb.Error, tc.status, tc.code, tc.field)
			}
		}
	})

	t.Run("gateway reads", func(t *testing.T) {
		connected := func() {
			eventually(t, 5*time.Second, "session", func() error {
				if e.gw.Load().Connected() != 1 {
					return errors.New("not connected")
				}
				return nil
			})
		}
		connected()
		for _, tc := range []struct {
			id   string
			kind error
			text string
		}{
			{"gone", errdefs.ErrNotFound, "node n1 has no container gone: no container gone on this node"},
			{"stopped", errdefs.ErrConflict, "container stopped is not running; start it first (exec in stopped: container is not running)"},
			{"noexec", errdefs.ErrConflict, "cannot exec in noexec: the fake driver cannot run commands in containers yet"},
			{"broken", errdefs.ErrUnavailable, "node n1 answered 503 Service Unavailable: docker is down"},
			{"old", errdefs.ErrNotFound, "node n1 has no container old: no container old on this node"},
		} {
			c := &api.Container{Meta: api.Meta{ID: tc.id}, Spec: api.ContainerSpec{Node: "n1"}}
			_, err := e.gw.Load().ContainerExec(e.ctx, c, []string{"true"})
			if err != nil && strings.Contains(err.Error(), "session shutdown") {
				// The session itself went away (a keepalive missed on a
				// loaded machine), which is not what this test is about:
				// dial again and ask once more.
				t.Logf("exec in %s: %v; dialling again", tc.id, err)
				dialFakeAgent(t, e, cert, handler)
				connected()
				_, err = e.gw.Load().ContainerExec(e.ctx, c, []string{"true"})
			}
			if !errors.Is(err, tc.kind) || !strings.HasSuffix(err.Error(), tc.text) {
				t.Errorf("exec in %s: %v, want an error of kind %v ending %q", tc.id, err, tc.kind, tc.text)
			}
		}
	})
}
