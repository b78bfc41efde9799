package history

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// server is a `wharf server` child process that can be killed and started
// again on the same data dir and addresses.
type server struct {
	t         *testing.T
	dir       string
	addr      string // API host:port
	agentAddr string
	url       string
	logf      *os.File

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd has exited
	token string
	http  *http.Client
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dir: dir, logf: logf,
		addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))),
		agentAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))),
	}
	s.url = "https://" + s.addr
	t.Cleanup(func() {
		s.stop()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			lines := strings.Split(string(b), "\n")
			t.Logf("server.log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	s.start()
	return s
}

// start runs the process and waits (bounded) until /readyz answers 200.
func (s *server) start() {
	s.t.Helper()
	cmd := exec.Command(wharfBin, "server", "--data-dir", filepath.Join(s.dir, "data"), "--addr", s.addr,
		"--agent-addr", s.agentAddr, "--advertise", "127.0.0.1", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = s.logf, s.logf
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		if last = s.ready(); last == nil {
			return
		}
		select {
		case <-done:
			s.t.Fatalf("wharf server exited while starting: %v", cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.t.Fatalf("wharf server not ready within a minute: %v", last)
}

// ready loads the admin token and CA (written by the first start) and asks
// /readyz.
func (s *server) ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http == nil {
		tok, err := os.ReadFile(filepath.Join(s.dir, "data", "admin-token"))
		if err != nil {
			return err
		}
		ca, err := os.ReadFile(filepath.Join(s.dir, "data", "ca.crt"))
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return fmt.Errorf("ca.crt: no certificate yet")
		}
		s.token = strings.TrimSpace(string(tok))
		s.http = &http.Client{
			Timeout:   5 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// client returns the HTTP client and admin token (after start).
func (s *server) client() (*http.Client, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.http, s.token
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// stop ends the process gracefully (SIGINT, then SIGKILL after 15 s).
func (s *server) stop() {
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

// freePort picks a free loopback port in 10000-19999, clear of ephemeral
// ports (which outgoing connections take) so it stays free until bound.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 10000 + rand.IntN(10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return port
	}
	t.Fatal("no free port in 10000-19999")
	return 0
}
