package hostile

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// NobodyUID is the unprivileged user the probes run as.
const NobodyUID = 65534

// probeEnv carries the listeners to a probe child.
const probeEnv = "WHARF_HOSTILE_PROBE"

// LocalAttempt is what another local user got from one listener: whether the
// connection was accepted, and the first line of what the listener
// answered to an HTTP request (the protocol of raft's peer handler, of
// etcd's client port and of Wharf's API; through TLS for TCP).
type LocalAttempt struct {
	Listener  Listener `json:"listener"`
	Connected bool     `json:"connected"`
	Answer    string   `json:"answer,omitempty"`
	Err       string   `json:"err,omitempty"`
}

// Refused reports whether the listener turned the stranger away: no
// connection, or no answer past the TLS handshake.
func (a LocalAttempt) Refused() bool { return !a.Connected || a.Answer == "" }

func (a LocalAttempt) String() string {
	if a.Refused() {
		return fmt.Sprintf("%s refused (%s)", a.Listener, a.Err)
	}
	return fmt.Sprintf("%s ANSWERED %q", a.Listener, a.Answer)
}

// CanRunAsNobody reports whether this process may start one as nobody
// (only root may switch users).
func CanRunAsNobody() bool { return os.Geteuid() == 0 }

// ProbeAsNobody runs this very executable again as user nobody, which
// connects to each listener and speaks to it, and returns what it got.
// The executable must call RunProbeChild first thing in its main (a test
// binary: in TestMain). It is copied where nobody may run it.
func ProbeAsNobody(ctx context.Context, ls []Listener) ([]LocalAttempt, error) {
	if !CanRunAsNobody() {
		return nil, errors.New("only root can run a process as nobody")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wharf-hostile-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "probe")
	if err := copyFile(self, bin, 0o755); err != nil {
		return nil, err
	}
	req, err := json.Marshal(ls)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
	cmd.Dir = "/"
	cmd.Env = []string{probeEnv + "=" + string(req), "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: NobodyUID, Gid: NobodyUID, Groups: []uint32{}}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("probe as nobody: %w: %s", err, stderr.String())
	}
	var got []LocalAttempt
	if err := json.Unmarshal(lastLine(out), &got); err != nil {
		return nil, fmt.Errorf("probe as nobody: bad answer %q: %w", out, err)
	}
	return got, nil
}

// RunProbeChild is the nobody side of ProbeAsNobody: when this process
// was started as a probe, it probes, prints the attempts as JSON and
// exits; otherwise it returns at once.
func RunProbeChild() {
	req := os.Getenv(probeEnv)
	if req == "" {
		return
	}
	var ls []Listener
	if err := json.Unmarshal([]byte(req), &ls); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := make([]LocalAttempt, 0, len(ls))
	for _, l := range ls {
		out = append(out, attempt(l))
	}
	b, _ := json.Marshal(out)
	fmt.Printf("\n%s\n", b)
	os.Exit(0)
}

// attempt connects to l and sends it an HTTP request for /v1/nodes (any
// answer, even a 404 from raft's peer handler, means it was reached),
// through TLS for TCP.
func attempt(l Listener) LocalAttempt {
	a := LocalAttempt{Listener: l}
	conn, err := net.DialTimeout(l.Network, l.Addr, 3*time.Second)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	a.Connected = true
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if l.Network == "tcp" {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the attacker trusts anything
		if err := tc.Handshake(); err != nil {
			a.Err = "TLS: " + err.Error()
			return a
		}
		conn = tc
	}
	if _, err := io.WriteString(conn, "GET /v1/nodes HTTP/1.1\r\nHost: wharf\r\nConnection: close\r\n\r\n"); err != nil {
		a.Err = err.Error()
		return a
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	a.Answer = strings.TrimSpace(line)
	if err != nil && a.Answer == "" {
		a.Err = err.Error()
	}
	return a
}

func lastLine(b []byte) []byte {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return []byte(s)
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
