package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestParseCheck(t *testing.T) {
	cases := []struct{ in, method, target string }{
		{"GET /healthz", "GET", "/healthz"},
		{"/status", "GET", "/status"},
		{"OPTIONS * HTTP/1.1", "OPTIONS", "*"},
		{"head /ping HTTP/1.0", "HEAD", "/ping"},
		{"", "GET", "/"},
	}
	for _, c := range cases {
		if m, p := parseCheck(c.in); m != c.method || p != c.target {
			t.Errorf("parseCheck(%q) = %s %s, want %s %s", c.in, m, p, c.method, c.target)
		}
	}
}

// A backend failing its check gets no requests until it passes again.
func TestHealthCheckTakesBackendOut(t *testing.T) {
	var sick atomic.Bool
	var checks atomic.Int64
	flaky := newBackendServer(t, "flaky", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/healthz" {
			checks.Add(1)
			if sick.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		_, _ = io.WriteString(w, "flaky")
	})
	steady := newBackendServer(t, "steady", nil)
	r := newTestRouter(t, Config{})
	rt := route("app", "*", "/", flaky, steady)
	rt.HTTPCheck = "GET /healthz"
	mustApply(t, r, table(rt))
	state := func() *checkState {
		for _, m := range r.table.Load().plain.any[0].pool.members {
			if m.Container == "flaky" {
				return m.check
			}
		}
		t.Fatal("flaky backend not in the table")
		return nil
	}
	eventually(t, "the first check ran", func() bool { return checks.Load() > 0 })
	sick.Store(true)
	eventually(t, "the flaky backend fails its check", func() bool { return !state().ok.Load() })
	for range 6 {
		if _, body, _ := get(t, nil, r, "x", "/"); body != "steady" {
			t.Fatalf("a request went to %s while it fails its check", body)
		}
	}
	sick.Store(false)
	eventually(t, "the flaky backend passes again", func() bool { return state().ok.Load() })
	var sawFlaky bool
	for range 4 {
		if _, body, _ := get(t, nil, r, "x", "/"); body == "flaky" {
			sawFlaky = true
		}
	}
	if !sawFlaky {
		t.Error("the backend that passes again gets no requests")
	}
	// The check stops with the route.
	mustApply(t, r, table())
	eventually(t, "no check runs once the route is gone", func() bool {
		r.checker.mu.Lock()
		defer r.checker.mu.Unlock()
		return len(r.checker.checks) == 0
	})
}

// haproxy's "OPTIONS * HTTP/1.1" sends an asterisk request target.
func TestHealthCheckOptionsAsterisk(t *testing.T) {
	got := make(chan string, 1)
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		select {
		case got <- req.Method + " " + req.RequestURI:
		default:
		}
	}))
	b.Config.DisableGeneralOptionsHandler = true // else net/http answers OPTIONS * itself
	b.Start()
	defer b.Close()
	c := newChecker(nil)
	defer c.close()
	method, target := parseCheck("OPTIONS * HTTP/1.1")
	s := &checkState{addr: b.Listener.Addr().String(), method: method, target: target}
	if err := c.probe(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	// The handler ran before the answer was sent.
	select {
	case line := <-got:
		if line != "OPTIONS *" {
			t.Errorf("backend saw %q, want \"OPTIONS *\"", line)
		}
	default:
		t.Error("the check's request never reached the backend's handler")
	}
	s.addr = deadAddr(t)
	if err := c.probe(t.Context(), s); err == nil {
		t.Error("a check of a dead backend passed")
	}
}
