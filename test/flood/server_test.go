package flood

import (
	"bufio"
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
	"testing"
	"time"
)

// server is a `wharf server` child process on loopback.
type server struct {
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	url   string
	token string // the admin token
	ca    *x509.CertPool
}

func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s := &server{url: "https://" + addr, done: make(chan struct{})}
	s.cmd = exec.Command(wharfBin, "server", "--data-dir", filepath.Join(dir, "data"), "--addr", addr,
		"--agent-addr", freeAddr(t), "--advertise", "127.0.0.1", "--log-level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	dieWithTest(s.cmd)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			lines := strings.Split(string(b), "\n")
			t.Logf("server.log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		err := s.load(dir)
		if err == nil {
			err = s.get("/readyz")
		}
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("wharf server not ready within a minute: %v", err)
		}
		select {
		case <-s.done:
			t.Fatalf("wharf server exited while starting: %v", s.cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// load reads the admin token and CA the server wrote into its data dir.
func (s *server) load(dir string) error {
	tok, err := os.ReadFile(filepath.Join(dir, "data", "admin-token"))
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(filepath.Join(dir, "data", "ca.crt"))
	if err != nil {
		return err
	}
	s.ca = x509.NewCertPool()
	if !s.ca.AppendCertsFromPEM(ca) {
		return fmt.Errorf("ca.crt: no certificate yet")
	}
	s.token = strings.TrimSpace(string(tok))
	return nil
}

// httpClient is a client trusting the server's CA, with conns connections
// kept open.
func (s *server) httpClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: s.ca},
			MaxIdleConnsPerHost: conns,
		},
	}
}

func (s *server) get(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	resp, err := s.httpClient(1).Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// alive reports whether the process still runs.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// heapInUse reads go_memstats_heap_inuse_bytes from /metrics.
func (s *server) heapInUse() (float64, error) {
	resp, err := s.httpClient(1).Get(s.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("/metrics has no go_memstats_heap_inuse_bytes")
}

// rss reads the process's resident set size from /proc (0 where there is
// no /proc).
func (s *server) rss() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

// freeAddr picks a free loopback address with a port in 10000-19999, clear
// of ephemeral ports, so it stays free until the server binds it.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 200 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(10000+rand.IntN(10000)))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		return addr
	}
	t.Fatal("no free port in 10000-19999")
	return ""
}
