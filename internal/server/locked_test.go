package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// TestUnlockerRefusesWrongKeysAndThrottles: a locked server answers 503
// to everything but the unlock call; a wrong key is refused and the next
// attempt must wait, doubling with each failure; the right key opens.
func TestUnlockerRefusesWrongKeysAndThrottles(t *testing.T) {
	ctx := context.Background()
	e, err := store.StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	kek, _ := seal.NewKEK()
	kr, _, err := seal.CreateKeyring(ctx, store.New(e.Client, "/wharf"), kek, true)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	u := newUnlocker(kr, func() time.Time { return now })
	from := "192.0.2.1:1234"
	call := func(method, path, key string) (*httptest.ResponseRecorder, api.ErrorBody) {
		b, _ := json.Marshal(api.UnlockRequest{UnlockKey: key})
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, path, bytes.NewReader(b))
		r.RemoteAddr = from
		u.ServeHTTP(w, r)
		var eb api.ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &eb)
		return w, eb
	}
	for _, p := range []string{"/v1/nodes", "/readyz", "/install.sh"} {
		if w, eb := call(http.MethodGet, p, ""); w.Code != http.StatusServiceUnavailable || !strings.Contains(eb.Error.Message, "wharf server unlock") {
			t.Fatalf("GET %s while locked: %d %+v", p, w.Code, eb)
		}
	}
	wrong, _ := seal.NewKEK()
	if w, eb := call(http.MethodPost, api.UnlockPath, wrong.String()); w.Code != http.StatusForbidden || eb.Error.Message != "wrong unlock key" {
		t.Fatalf("a wrong key: %d %+v", w.Code, eb)
	}
	if w, _ := call(http.MethodPost, api.UnlockPath, kek.String()); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("an attempt right after a wrong one: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	now = now.Add(time.Second)
	if w, _ := call(http.MethodPost, api.UnlockPath, "WHARF-KEK-1-garbage"); w.Code != http.StatusForbidden {
		t.Fatalf("a malformed key: %d", w.Code)
	}
	now = now.Add(time.Second) // the second failure doubled the wait
	if w, _ := call(http.MethodPost, api.UnlockPath, kek.String()); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the wait did not double: %d", w.Code)
	}
	// The stranger's guesses do not keep the operator, elsewhere, out.
	from = "198.51.100.7:4321"
	if w, _ := call(http.MethodPost, api.UnlockPath, kek.String()); w.Code != http.StatusOK {
		t.Fatalf("the right key from another address: %d %s", w.Code, w.Body)
	}
	from = "192.0.2.1:1234"
	now = now.Add(time.Second)
	if w, _ := call(http.MethodPost, api.UnlockPath, kek.String()); w.Code != http.StatusOK {
		t.Fatalf("the right key again: %d %s", w.Code, w.Body)
	}
	select {
	case got := <-u.done:
		if got.kek != kek || got.s == nil {
			t.Fatal("unlocked with something else")
		}
	default:
		t.Fatal("the right key did not unlock")
	}
}

// syncBuffer is an io.Writer the server writes and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// poll calls f every 100ms until it returns nil, at most for limit.
func poll(t *testing.T, limit time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// TestAutolock: with --autolock the key-encryption key is printed once and
// written nowhere; after a restart the server serves only the unlock call,
// refuses a wrong key, and runs once it gets the right one.
func TestAutolock(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "server")
	cfg := Config{DataDir: dir, Addr: freeLoopbackAddr(t), AgentAddr: freeLoopbackAddr(t), Advertise: "127.0.0.1",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: api.Version{Version: "test"}, Autolock: true}
	run := func(cfg Config, out *syncBuffer) (stop func()) {
		cfg.Out = out
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- Run(rctx, cfg) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		}
	}
	apiClient := func() *client.Client {
		ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Options{Addr: "https://" + cfg.Addr, CACert: ca, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	first := &syncBuffer{}
	stop := run(cfg, first)
	poll(t, time.Minute, func() error {
		if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil {
			return err
		}
		return apiClient().Do(ctx, http.MethodGet, "/readyz", nil, nil)
	})
	stop()
	key := regexp.MustCompile(`WHARF-KEK-1-[A-Za-z0-9_-]+`).FindString(first.String())
	if key == "" {
		t.Fatalf("no unlock key printed: %q", first.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "kek")); !os.IsNotExist(err) {
		t.Fatalf("a locked cluster has a KEK file: %v", err)
	}
	if found := etcdFilesWith(t, dir, [][]byte{[]byte(key)}); len(found) > 0 {
		t.Fatalf("the unlock key is in %v", found)
	}

	cfg.Autolock = false // locked is the cluster's state, not a flag to repeat
	second := &syncBuffer{}
	stop = run(cfg, second)
	defer stop()
	c := apiClient()
	poll(t, time.Minute, func() error {
		err := c.Do(ctx, http.MethodGet, "/v1/nodes", nil, nil)
		if ce := (*client.Error)(nil); !asError(err, &ce) || ce.Status != http.StatusServiceUnavailable || !strings.Contains(ce.Message, "server is locked") {
			return fmt.Errorf("want 503 server is locked, got %v", err)
		}
		return nil
	})
	wrong, _ := seal.NewKEK()
	if err := c.Do(ctx, http.MethodPost, api.UnlockPath, api.UnlockRequest{UnlockKey: wrong.String()}, nil); err == nil || !strings.Contains(err.Error(), "wrong unlock key") {
		t.Fatalf("a wrong key: %v", err)
	}
	poll(t, 10*time.Second, func() error { // the wrong key costs a second
		return c.Do(ctx, http.MethodPost, api.UnlockPath, api.UnlockRequest{UnlockKey: key}, nil)
	})
	poll(t, time.Minute, func() error { return c.Do(ctx, http.MethodGet, "/readyz", nil, nil) })
	if strings.Contains(second.String(), "WHARF-KEK") {
		t.Fatal("the restarted server printed a key")
	}
}

func asError(err error, target **client.Error) bool {
	return err != nil && errors.As(err, target)
}
