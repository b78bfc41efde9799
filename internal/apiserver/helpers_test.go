package apiserver

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// One embedded etcd serves the whole test binary; each test gets its own
// key prefix, so tests never see each other's objects.
var testEtcd *store.Embedded

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "apiserver-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEtcd, err = store.StartEmbedded(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	testEtcd.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type env struct {
	t     testing.TB
	st    *store.Store
	s     *Server
	srv   *httptest.Server
	admin string
	logs  *fakeLogs
}

// newEnv starts a server on its own store prefix, with a bootstrapped admin
// token. tune, if given, adjusts the server before it serves.
func newEnv(t testing.TB, tune ...func(*Server)) *env {
	t.Helper()
	prefix := "/test/" + strings.NewReplacer("/", "_", "#", "_").Replace(t.Name()) + "-" + newID()
	st := store.New(testEtcd.Client, prefix)
	admin, created, err := domain.Bootstrap(context.Background(), st, t.TempDir())
	if err != nil || !created {
		t.Fatalf("Bootstrap: %v, created=%v", err, created)
	}
	fl := &fakeLogs{lines: map[string][]string{}}
	s, err := New(Config{
		Store:       st,
		Logs:        fl,
		Join:        fakeJoin{},
		CAPEM:       []byte("-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"),
		CADigest:    "0123abcd",
		JoinCommand: func(tok string) string { return "wharf-agent join " + tok },
		Version:     api.Version{Version: "v-test", Commit: "c0ffee", GoVersion: "go"},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.logStart = 20 * time.Millisecond
	for _, f := range tune {
		f(s)
	}
	if len(tune) > 0 {
		// The domain layer over what tune set in the config.
		d, err := newDomain(s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.d = d
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, s: s, srv: srv, admin: admin, logs: fl}
}

// do sends a request with a token ("" for none) and returns status and body.
// hdr is pairs of header name and value.
func (e *env) do(method, path, token, body string, hdr ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// call sends an admin request, wants status want and decodes into out.
func (e *env) call(method, path, body string, want int, out any, hdr ...string) {
	e.t.Helper()
	code, b := e.do(method, path, e.admin, body, hdr...)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

func (e *env) createService(name string, replicas int) api.Service {
	e.t.Helper()
	var svc api.Service
	e.call("POST", "/v1/services", fmt.Sprintf(`{"name":%q,"spec":{"command":["sleep","1000"],"replicas":%d}}`, name, replicas), http.StatusCreated, &svc)
	return svc
}

func errDetail(t testing.TB, b []byte) api.ErrorDetail {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code == "" {
		t.Fatalf("not an error body: %s (%v)", b, err)
	}
	return eb.Error
}

// fakeLogs serves preset lines per container ID. A container on node "down"
// is unreachable; with follow, after its lines it waits for more on live.
type fakeLogs struct {
	mu    sync.Mutex
	lines map[string][]string
	tails []int
	live  chan string
}

func (f *fakeLogs) ContainerLogs(ctx context.Context, c *api.Container, follow bool, tail int, w io.Writer) error {
	if c.Spec.Node == "down" {
		return fmt.Errorf("node down is not connected: %w", errdefs.ErrUnavailable)
	}
	f.mu.Lock()
	lines, live := f.lines[c.ID], f.live
	f.tails = append(f.tails, tail)
	f.mu.Unlock()
	if tail > 0 && tail < len(lines) {
		lines = lines[len(lines)-tail:]
	}
	for _, l := range lines {
		if _, err := io.WriteString(w, l+"\n"); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case l := <-live:
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				return err
			}
		}
	}
}

type fakeJoin struct{}

func (fakeJoin) Join(ctx context.Context, req api.JoinRequest, remote string, _ []*x509.Certificate) (api.JoinResponse, error) {
	if req.Token != "WHARF-1-good" {
		return api.JoinResponse{}, fmt.Errorf("join token not accepted: %w", errdefs.ErrUnauthorized)
	}
	return api.JoinResponse{NodeID: "node-" + req.Hostname, Gateway: "gw:1"}, nil
}

// sseFrame is one Server-Sent Events message.
type sseFrame struct {
	id, data string
}

// openSSE opens an event stream and returns its frames and the number of
// comment lines seen so far. Cancel ctx to disconnect.
func (e *env) openSSE(ctx context.Context, path string, hdr ...string) (<-chan sseFrame, func() int) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("SSE %s: %d %s: %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	ch := make(chan sseFrame, 1024)
	var mu sync.Mutex
	comments := 0
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if f.data != "" {
					ch <- f
				}
				f = sseFrame{}
			case strings.HasPrefix(line, ":"):
				mu.Lock()
				comments++
				mu.Unlock()
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return ch, func() int { mu.Lock(); defer mu.Unlock(); return comments }
}

func nextFrame(t testing.TB, ch <-chan sseFrame) (sseFrame, api.Event) {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatal("event stream closed")
		}
		var ev api.Event
		if err := json.Unmarshal([]byte(f.data), &ev); err != nil {
			t.Fatalf("event data %q: %v", f.data, err)
		}
		return f, ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	panic("unreachable")
}
