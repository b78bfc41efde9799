package router

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	bs := []*testBackend{newBackendServer(t, "a", nil), newBackendServer(t, "b", nil), newBackendServer(t, "c", nil)}
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("app", "*", "/", bs...)))
	for range 9 {
		get(t, nil, r, "x", "/")
	}
	for _, b := range bs {
		if n := b.hits.Load(); n != 3 {
			t.Errorf("backend %s got %d of 9 requests, want 3", b.name, n)
		}
	}
}

func TestSourceBalanceKeepsAClientOnOneBackend(t *testing.T) {
	bs := []*testBackend{newBackendServer(t, "a", nil), newBackendServer(t, "b", nil), newBackendServer(t, "c", nil)}
	r := newTestRouter(t, Config{})
	rt := route("app", "*", "/", bs...)
	rt.Balance = api.BalanceSource
	mustApply(t, r, table(rt))
	_, first, _ := get(t, nil, r, "x", "/")
	for range 5 {
		if _, body, _ := get(t, nil, r, "x", "/"); body != first {
			t.Fatalf("source balance moved the client from %s to %s", first, body)
		}
	}
}

func TestLeastConnAvoidsBusyBackend(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	slow := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/hold" {
				started <- struct{}{}
				<-release
			}
			_, _ = io.WriteString(w, name)
		}
	}
	a := newBackendServer(t, "a", slow("a"))
	b := newBackendServer(t, "b", slow("b"))
	r := newTestRouter(t, Config{})
	rt := route("app", "*", "/", a, b)
	rt.Balance = api.BalanceLeastConn
	mustApply(t, r, table(rt))
	done := make(chan string)
	go func() {
		_, body, _ := get(t, nil, r, "x", "/hold")
		done <- body
	}()
	<-started
	held := "a"
	if b.hits.Load() == 1 {
		held = "b"
	}
	for range 4 {
		if _, body, _ := get(t, nil, r, "x", "/"); body == held {
			t.Errorf("leastconn sent a request to %s, which holds one, while the other is idle", held)
		}
	}
	close(release)
	if body := <-done; body != held {
		t.Errorf("held request answered by %s, want %s", body, held)
	}
}

func TestStickyCookie(t *testing.T) {
	a, b := newBackendServer(t, "a", nil), newBackendServer(t, "b", nil)
	r := newTestRouter(t, Config{})
	rt := route("app", "*", "/", a, b)
	rt.Cookie = "SRV"
	mustApply(t, r, table(rt))
	url := "http://" + r.HTTPAddr().String() + "/"
	send := func(cookie string) (body, setCookie string) {
		req, _ := http.NewRequest("GET", url, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "SRV", Value: cookie})
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		bb, _ := io.ReadAll(res.Body)
		return string(bb), res.Header.Get("Set-Cookie")
	}
	body, set := send("")
	if !strings.HasPrefix(set, "SRV="+body+";") {
		t.Fatalf("first answer from %s set cookie %q, want SRV=%s", body, set, body)
	}
	for range 4 {
		if got, set := send(body); got != body || set != "" {
			t.Errorf("with cookie %s: answered by %s, Set-Cookie %q", body, got, set)
		}
	}
	got, set := send("gone")
	if !strings.HasPrefix(set, "SRV="+got+";") {
		t.Errorf("cookie naming a backend not in the table: answered by %s with Set-Cookie %q", got, set)
	}
	// The backend named by the cookie leaves the table: the client moves.
	other := map[string]*testBackend{"a": b, "b": a}[body]
	rt.Backends = []api.Backend{other.be()}
	mustApply(t, r, table(rt))
	if got, set := send(body); got != other.name || !strings.HasPrefix(set, "SRV="+other.name+";") {
		t.Errorf("cookie of a removed backend: answered by %s, Set-Cookie %q", got, set)
	}
}

// A backend that refuses connections is retried on another one, also for
// a POST with a body, and is then tried last for a while.
func TestConnectFailureRetriesAnotherBackend(t *testing.T) {
	echo := newBackendServer(t, "live", func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		_, _ = w.Write(b)
	})
	r := newTestRouter(t, Config{})
	rt := route("app", "*", "/", echo)
	dead := api.Backend{Container: "dead", Address: deadAddr(t)}
	rt.Backends = append([]api.Backend{dead}, rt.Backends...)
	mustApply(t, r, table(rt))
	for i := range 4 {
		body := strings.Repeat("x", 1000+i)
		status, got, _ := do(t, nil, "POST", "http://"+r.HTTPAddr().String()+"/", "x", strings.NewReader(body))
		if status != 200 || got != body {
			t.Fatalf("POST %d: %d, body of %d bytes, want 200 and the %d bytes sent", i, status, len(got), len(body))
		}
	}
	order := r.table.Load().plain.any[0].pool.order("127.0.0.1", "")
	if len(order) != 2 || order[0].Container != "live" {
		t.Errorf("after a refused connection the dead backend is not tried last: %v", containers(order))
	}
}

func TestAllBackendsRefusingIs503(t *testing.T) {
	r := newTestRouter(t, Config{})
	rt := route("app", "*", "/")
	rt.Backends = []api.Backend{{Container: "d1", Address: deadAddr(t)}, {Container: "d2", Address: deadAddr(t)}}
	mustApply(t, r, table(rt))
	if status, body, _ := get(t, nil, r, "x", "/"); status != http.StatusServiceUnavailable {
		t.Errorf("every backend refusing: %d %q, want 503", status, body)
	}
}

// A backend that accepted the request and then failed is not retried: the
// request may have had its effect.
func TestFailureAfterConnectIsNotRetried(t *testing.T) {
	broken := newBackendServer(t, "broken", func(w http.ResponseWriter, _ *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	})
	other := newBackendServer(t, "other", nil)
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("app", "*", "/", broken, other)))
	var bad int
	for range 4 {
		status, _, _ := do(t, nil, "POST", "http://"+r.HTTPAddr().String()+"/", "x", strings.NewReader("once"))
		if status == http.StatusBadGateway {
			bad++
		}
	}
	if bad != 2 || broken.hits.Load() != 2 {
		t.Errorf("%d of 4 POSTs got 502 and the broken backend saw %d, want 2 and 2 (no retry after the request was sent)", bad, broken.hits.Load())
	}
}

func containers(ms []*member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Container)
	}
	return out
}
