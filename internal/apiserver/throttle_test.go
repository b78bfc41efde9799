package apiserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/hostile"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/throttle"
)

// throttled is an env whose throttle refuses a source after 3 failures.
func throttled(t *testing.T) *env {
	return newEnv(t, func(s *Server) { s.cfg.Throttle = throttle.New(throttle.Config{Failures: 3}) })
}

// fromAddr sends a request as if from remote, straight to the handler.
func (e *env) fromAddr(remote, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = remote
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, req)
	return rec
}

// TestTokenGuesserIsThrottled: a source that sends wrong API tokens gets
// 401 three times, then 429 with Retry-After, even with a right token; the
// admin token from another address still works.
func TestTokenGuesserIsThrottled(t *testing.T) {
	e := throttled(t)
	tries, err := hostile.GuessTokens(e.srv.Client(), e.srv.URL, 6)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range tries {
		switch {
		case i < 3 && a.Status != http.StatusUnauthorized:
			t.Fatalf("guess %d: %+v, want 401", i+1, a)
		case i >= 3 && (!a.Refused() || a.Code != api.CodeTooManyRequests):
			t.Fatalf("guess %d: %+v, want 429 too_many_requests with Retry-After", i+1, a)
		}
	}
	if s, err := strconv.Atoi(tries[5].RetryAfter); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q, want 1-60 seconds", tries[5].RetryAfter)
	}
	if code, _ := e.do("GET", "/v1/nodes", e.admin, ""); code != http.StatusTooManyRequests {
		t.Fatalf("the refused source with a right token: %d, want 429", code)
	}
	if rec := e.fromAddr("192.0.2.9:4000", "GET", "/v1/nodes", e.admin); rec.Code != http.StatusOK {
		t.Fatalf("the admin token from another address: %d %s", rec.Code, rec.Body)
	}
	// A refused request reads no store: with the store gone it is still
	// a 429, while another address's request now fails on the store.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{testEtcd.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	_ = cli.Close()
	e.s.st = store.New(cli, "/gone")
	if e.s.d, err = domain.New(domain.Config{Store: e.s.st}); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do("GET", "/v1/nodes", e.admin, ""); code != http.StatusTooManyRequests {
		t.Fatalf("a refused request without a store: %d, want 429", code)
	}
	if rec := e.fromAddr("192.0.2.9:4000", "GET", "/v1/nodes", e.admin); rec.Code == http.StatusOK {
		t.Fatal("a request from another address succeeded without a store: the check above proves nothing")
	}
}

// TestRequestsWithoutTokenAreNotCounted: a client that forgets its token
// guesses nothing and is never throttled.
func TestRequestsWithoutTokenAreNotCounted(t *testing.T) {
	e := throttled(t)
	for range 10 {
		if code, _ := e.do("GET", "/v1/nodes", "", ""); code != http.StatusUnauthorized {
			t.Fatalf("no token: %d, want 401", code)
		}
	}
	if code, _ := e.do("GET", "/v1/nodes", e.admin, ""); code != http.StatusOK {
		t.Fatalf("admin token after tokenless requests: %d", code)
	}
}

// TestJoinGuesserIsThrottled: a source that sends wrong join tokens gets
// 401 three times, then 429 with Retry-After even for a good token; a good
// join from another address still succeeds.
func TestJoinGuesserIsThrottled(t *testing.T) {
	e := throttled(t)
	tries, err := hostile.GuessJoins(e.srv.Client(), e.srv.URL, strings.Repeat("ab", 32), 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range tries {
		switch {
		case i < 3 && a.Status != http.StatusUnauthorized:
			t.Fatalf("join guess %d: %+v, want 401", i+1, a)
		case i >= 3 && !a.Refused():
			t.Fatalf("join guess %d: %+v, want 429 with Retry-After", i+1, a)
		}
	}
	good := `{"token":"WHARF-1-good","hostname":"h1","csr":"x"}`
	if code, b := e.do("POST", "/v1/join", "", good); code != http.StatusTooManyRequests {
		t.Fatalf("a good join from the refused source: %d %s", code, b)
	}
	req := httptest.NewRequest("POST", "/v1/join", strings.NewReader(good))
	req.RemoteAddr = "198.51.100.7:5000"
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("a good join from another address: %d %s", rec.Code, rec.Body)
	}
	// The audit trail has the refused joins, not the throttled flood.
	rec = e.fromAddr("198.51.100.7:5000", "GET", "/v1/actions", e.admin)
	var acts api.List[api.Action]
	if err := json.Unmarshal(rec.Body.Bytes(), &acts); err != nil {
		t.Fatal(err)
	}
	statuses := map[int]int{}
	for _, a := range acts.Items {
		if a.Path == "/v1/join" {
			statuses[a.Status]++
		}
	}
	if statuses[401] != 3 || statuses[429] != 0 || statuses[200] != 1 {
		t.Fatalf("join actions by status: %v, want 3 x 401, 1 x 200, no 429", statuses)
	}
}
