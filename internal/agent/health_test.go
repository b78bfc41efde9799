package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestHTTPHealth: the checker of a container whose host port answers 200
// twice, then 500, makes it healthy, keeps it so for Retries-1 failures
// and makes it unhealthy at the Retries-th.
func TestHTTPHealth(t *testing.T) {
	const retries = 3
	a := &Agent{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a.rep = newReporter(a)
	e := newExecutor(a)
	ctx, cancel := context.WithCancel(t.Context())
	e.ctx = ctx

	var (
		k    *ctr
		mu   sync.Mutex
		seen []string // the health the container had at each request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			t.Errorf("GET %s, want /healthz", r.URL.Path)
		}
		// The checker probes one at a time and records each result before
		// the next probe: the health now is that of the requests before.
		e.mu.Lock()
		h := k.status.Health
		e.mu.Unlock()
		mu.Lock()
		seen = append(seen, h)
		n := len(seen)
		mu.Unlock()
		if n > 2 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	run := make(chan struct{})
	k = &ctr{id: "h1", drv: namedDriver{name: "none"}, running: true, waitDone: run,
		spec: api.Container{Spec: api.ContainerSpec{Healthcheck: &api.Healthcheck{
			HTTP: "/healthz", Interval: "10ms", Timeout: "2s", Retries: retries}}},
		status: api.ContainerStatus{State: api.ContainerRunning, HostPort: port}}
	e.mu.Lock()
	e.ctrs[k.id] = k
	e.watchHealth(k)
	e.mu.Unlock()
	defer func() {
		close(run)
		cancel()
		e.wg.Wait()
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n > 2+retries {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d probes in 10s, want %d", n, 3+retries)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	got := slices.Clone(seen[:3+retries])
	mu.Unlock()
	want := []string{api.HealthStarting, api.HealthHealthy}
	for range retries {
		want = append(want, api.HealthHealthy)
	}
	want = append(want, api.HealthUnhealthy)
	if !slices.Equal(got, want) {
		t.Errorf("health before each probe = %q, want %q (200 twice, then 500)", got, want)
	}
	reps, _ := a.rep.snapshot()
	if len(reps) != 1 || reps[0].ID != k.id || reps[0].Status.Health != api.HealthUnhealthy {
		t.Errorf("reported %+v, want %s unhealthy", reps, k.id)
	}
}
