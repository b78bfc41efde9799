// Package testserver runs the real `wharf server` binary as a child process
// of a test or benchmark, on loopback ports of its own and a temporary data
// dir: it waits until the server is ready, hands out an API client and an
// HTTP client trusting its CA, reads its /metrics, RSS and CPU time, kills
// it (SIGKILL) and starts it again on the same data dir and addresses, and
// stops it when the test ends (on Linux the kernel kills it too if the test
// process dies first). When the test failed, the end of the server's log is
// printed. Binary finds or builds the binary.
package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api/client"
)

// Options change how the server is run.
type Options struct {
	// LogLevel is passed as --log-level; default "warn".
	LogLevel string
	// Args are more flags, appended after the ones Start passes
	// (--data-dir, --addr, --agent-addr, --advertise, --log-level).
	Args []string
	// Env are more environment variables (NAME=value) for the server,
	// on top of the test's own.
	Env []string
	// Token is the admin token, for a server whose data dir gets none (a
	// second server on a shared etcd); default: the one the server wrote.
	Token string
}

// Server is a `wharf server` child process. Its addresses and data dir stay
// the same across Kill and Start.
type Server struct {
	URL       string // https://127.0.0.1:port, the API
	Addr      string // host:port of the API
	AgentAddr string // host:port of the agent gateway
	Dir       string // the test's temporary dir: server.log and the data dir
	DataDir   string

	tb   testing.TB
	opts Options
	logf *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	token  string
	ca     []byte
	pool   *x509.CertPool
	http   *http.Client
	client *client.Client
}

// logTail is how many lines of server.log a failed test prints.
const logTail = 40

// Start runs a server for the test and waits (up to a minute) until its
// /readyz answers 200. The server is stopped when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := New(tb, opts)
	s.Start()
	return s
}

// New prepares a server for the test (its dir, data dir and addresses)
// without running it; Start or Launch runs it. It is stopped when the test
// ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	dir := tb.TempDir()
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Addr: FreeAddr(tb), AgentAddr: FreeAddr(tb), Dir: dir, DataDir: filepath.Join(dir, "data"),
		tb: tb, opts: opts, logf: logf}
	s.URL = "https://" + s.Addr
	tb.Cleanup(func() {
		s.Stop()
		_ = logf.Close()
		if tb.Failed() {
			b, _ := os.ReadFile(logf.Name())
			lines := strings.Split(string(b), "\n")
			tb.Logf("server.log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-logTail):], "\n"))
		}
	})
	return s
}

// Start runs the process (again, after Kill or Stop) on the same data dir
// and addresses, and waits (up to a minute) until /readyz answers 200.
func (s *Server) Start() {
	s.tb.Helper()
	s.Launch()
	if err := s.WaitReady(time.Minute); err != nil {
		s.tb.Fatal(err)
	}
}

// Launch runs the process and returns at once: a standby on a shared etcd
// is not ready until it takes over (WaitReady).
func (s *Server) Launch() {
	s.tb.Helper()
	if s.Alive() {
		s.tb.Fatal("testserver: Start while the server runs")
	}
	args := append([]string{"server", "--data-dir", s.DataDir, "--addr", s.Addr, "--agent-addr", s.AgentAddr,
		"--advertise", "127.0.0.1", "--log-level", s.opts.LogLevel}, s.opts.Args...)
	cmd := exec.Command(Binary(s.tb), args...)
	cmd.Stdout, cmd.Stderr = s.logf, s.logf
	if len(s.opts.Env) > 0 {
		cmd.Env = append(os.Environ(), s.opts.Env...)
	}
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
}

// WaitReady waits up to d until /readyz answers 200; it fails at once if
// the process exits.
func (s *Server) WaitReady(d time.Duration) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		if last = s.ready(); last == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("wharf server exited while starting: %v", cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("wharf server not ready within %s: %v", d, last)
}

// ready loads the admin token and CA (written by the first start) and asks
// /readyz.
func (s *Server) ready() error {
	if err := s.load(); err != nil {
		return err
	}
	return s.Get("/readyz")
}

// load reads the admin token and CA from the data dir, once.
func (s *Server) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http != nil {
		return nil
	}
	tok := []byte(s.opts.Token)
	if len(tok) == 0 {
		var err error
		if tok, err = os.ReadFile(filepath.Join(s.DataDir, "admin-token")); err != nil {
			return err
		}
	}
	ca, err := os.ReadFile(filepath.Join(s.DataDir, "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return errors.New("ca.crt: no certificate yet")
	}
	token := strings.TrimSpace(string(tok))
	cl, err := client.New(client.Options{Addr: s.URL, Token: token, CACert: ca})
	if err != nil {
		return err
	}
	s.token, s.ca, s.pool, s.client = token, ca, pool, cl
	s.http = newHTTP(pool, 30*time.Second, 16)
	return nil
}

func newHTTP(pool *x509.CertPool, timeout time.Duration, conns int) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool},
			MaxIdleConnsPerHost: conns,
		},
	}
}

// Client is an API client with the admin token.
func (s *Server) Client() *client.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// HTTP is a shared HTTP client trusting the server's CA (30 s timeout, 16
// idle connections kept); it sends no token.
func (s *Server) HTTP() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.http
}

// NewHTTP is a new HTTP client trusting the server's CA, with the given
// timeout per request and conns idle connections kept open.
func (s *Server) NewHTTP(timeout time.Duration, conns int) *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return newHTTP(s.pool, timeout, conns)
}

// Token is the admin token.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// CA is the PEM of the cluster CA.
func (s *Server) CA() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ca
}

// Get sends GET path (no token) with a 5 s deadline and wants 200.
func (s *Server) Get(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.HTTP().Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// Metric reads the value of an unlabelled metric (a gauge such as
// go_memstats_heap_inuse_bytes) from /metrics.
func (s *Server) Metric(name string) (float64, error) {
	resp, err := s.HTTP().Get(s.URL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return metric(resp.Body, name)
}

// Pid is the process id of the server last started.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// RSS is the server process's resident set size in bytes (Linux only).
func (s *Server) RSS() (int64, error) { return ProcRSS(s.Pid()) }

// CPU is the user plus system CPU time the server process has used (Linux
// only).
func (s *Server) CPU() (time.Duration, error) { return ProcCPU(s.Pid()) }

// Alive reports whether the server process runs.
func (s *Server) Alive() bool {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// ProcessState is how the server process last started ended; nil while it
// runs.
func (s *Server) ProcessState() *os.ProcessState {
	if s.Alive() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	return s.cmd.ProcessState
}

// Kill sends SIGKILL and waits until the process is gone.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Stop ends the process gracefully (SIGINT, then SIGKILL after 15 s) and
// waits until it is gone.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the server gracefully and starts it again on the same data
// dir and addresses (Kill then Start for a crash instead).
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}
