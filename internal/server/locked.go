package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/throttle"
)

// lockedMessage is every other answer of a locked server.
const lockedMessage = "server is locked: run `wharf server unlock`"

// waitUnlocked serves a locked cluster's server on its API address until
// the operator gives the unlock key: POST /v1/unlock, over TLS with the
// server certificate from the data dir (no CA key is needed for it, and
// clients already trust it). Every other request gets 503. Wrong keys are
// refused, and each refusal doubles the wait before the next attempt from
// that address is heard (1s up to a minute): per address, so that a
// stranger's guesses cannot keep the operator out. Guessing a 256-bit key
// is hopeless anyway; the wait bounds the work a flood causes. The check
// itself is AES-GCM's tag check, which is constant-time. The listener is
// closed before it returns, and Run opens the API on the same address.
func waitUnlocked(ctx context.Context, cfg Config, kr *seal.Keyring, log *slog.Logger) (*seal.Sealer, seal.KEK, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, seal.KEK{}, fmt.Errorf("API listen on %s (locked): %w", cfg.Addr, err)
	}
	if !cfg.Insecure {
		certFile, keyFile := cfg.TLSCert, cfg.TLSKey
		if certFile == "" {
			certFile, keyFile = filepath.Join(cfg.DataDir, "server.crt"), filepath.Join(cfg.DataDir, "server.key")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			_ = ln.Close()
			return nil, seal.KEK{}, fmt.Errorf("the cluster is locked, and the server certificate to serve `wharf server unlock` with is not readable (%w); it is made on the first start: give --tls-cert and --tls-key", err)
		}
		tlsCfg := pki.ServerTLSConfig(cert)
		tlsCfg.MinVersion = tls.VersionTLS13
		ln = tls.NewListener(ln, tlsCfg)
	}
	u := newUnlocker(kr, nil)
	srv := &http.Server{Handler: u, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Warn("the cluster is locked: this server serves nothing until it is unlocked; run `wharf server unlock`", "addr", cfg.Addr)
	select {
	case got := <-u.done:
		log.Info("unlocked")
		return got.s, got.kek, nil
	case <-ctx.Done():
		return nil, seal.KEK{}, ctx.Err()
	}
}

type unlocked struct {
	s   *seal.Sealer
	kek seal.KEK
}

// unlocker is the locked server's whole API.
type unlocker struct {
	kr   *seal.Keyring
	done chan unlocked
	// wrong counts wrong keys per source address: each one refuses the
	// address for a wait that doubles, 1s up to a minute.
	wrong *throttle.Limiter

	mu     sync.Mutex
	opened bool
}

// newUnlocker makes the unlocker of kr; now is the clock (nil: time.Now).
func newUnlocker(kr *seal.Keyring, now func() time.Time) *unlocker {
	return &unlocker{kr: kr, done: make(chan unlocked, 1), wrong: throttle.New(throttle.Config{
		Failures: 1, Block: time.Second, MaxBlock: time.Minute, MaxSources: 4096, Now: now,
	})}
}

func (u *unlocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != api.UnlockPath || r.Method != http.MethodPost {
		w.Header().Set("Retry-After", "5")
		writeErr(w, http.StatusServiceUnavailable, api.CodeUnavailable, lockedMessage)
		return
	}
	var req api.UnlockRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, api.CodeInvalid, "want a JSON body {\"unlock_key\": \"WHARF-KEK-1-...\"}")
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.opened {
		writeJSON(w, http.StatusOK, map[string]bool{"unlocked": true})
		return
	}
	src := throttle.Source(r.RemoteAddr)
	if left, blocked := u.wrong.Blocked(src); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
		writeErr(w, http.StatusTooManyRequests, api.CodeUnavailable, "too many wrong unlock keys: wait before the next attempt")
		return
	}
	kek, err := seal.ParseKEK(req.UnlockKey)
	var s *seal.Sealer
	if err == nil {
		s, err = u.kr.Open(kek)
	}
	if err != nil {
		u.wrong.Fail(src)
		msg := "wrong unlock key"
		if !errors.Is(err, seal.ErrWrongKey) {
			msg = err.Error() // a malformed key: say what is wrong with it
		}
		writeErr(w, http.StatusForbidden, api.CodeForbidden, msg)
		return
	}
	u.opened = true
	u.done <- unlocked{s: s, kek: kek}
	writeJSON(w, http.StatusOK, map[string]bool{"unlocked": true})
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
