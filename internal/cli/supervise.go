package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// supervisor runs `wharf up`'s children: each in its own process group (so
// a terminal's Ctrl-C reaches only `wharf up`, which stops them in order),
// with its output in <data-dir>/<name>.log and its pid in <name>.pid, and
// killed if `wharf up` dies.
type supervisor struct {
	dir   string
	exe   string
	out   io.Writer
	mu    sync.Mutex
	procs []*child
	died  chan death
}

// death is a child that exited while the cluster was meant to run.
type death struct {
	name string
	err  error
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func newSupervisor(dir string, out io.Writer) (*supervisor, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the wharf binary: %w", err)
	}
	return &supervisor{dir: dir, exe: exe, out: out, died: make(chan death, 16)}, nil
}

func (s *supervisor) start(ctx context.Context, name string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	pidFile := filepath.Join(s.dir, name+".pid")
	_ = os.WriteFile(pidFile, []byte(fmt.Sprint(cmd.Process.Pid)), 0o600)
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.procs = append(s.procs, c)
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		_ = logf.Close()
		_ = os.Remove(pidFile)
		close(c.done)
		if ctx.Err() == nil {
			select {
			case s.died <- death{name, fmt.Errorf("%s exited (%v); its log is %s", name, err, logf.Name())}:
			default:
			}
		}
	}()
	return nil
}

// stopAll stops the agents first (they stop their containers), then the
// server, each with SIGTERM and, after a grace, SIGKILL.
func (s *supervisor) stopAll() {
	s.mu.Lock()
	procs := append([]*child(nil), s.procs...)
	s.mu.Unlock()
	var agents, servers []*child
	for _, c := range procs {
		if c.name == "server" {
			servers = append(servers, c)
		} else {
			agents = append(agents, c)
		}
	}
	stopGroup(agents, 20*time.Second)
	stopGroup(servers, 20*time.Second)
}

func stopGroup(cs []*child, grace time.Duration) {
	for _, c := range cs {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, c := range cs {
		select {
		case <-c.done:
		case <-deadline:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

// tail returns the last lines of a child's log, for error messages.
func (s *supervisor) tail(name string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return name + ".log:\n  " + strings.Join(lines, "\n  ")
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func signalTerm(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// upDetached starts `wharf up` in the background, in a session of its own,
// and returns once the cluster is ready.
func upDetached(ctx context.Context, out io.Writer, o upOptions) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	readyFile := filepath.Join(o.dataDir, "up.ready")
	_ = os.Remove(readyFile)
	logPath := filepath.Join(o.dataDir, "up.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logf.Close() }()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"up", "--data-dir", o.dataDir, "--nodes", fmt.Sprint(o.nodes),
		"--port", fmt.Sprint(o.port), "--agent-port", fmt.Sprint(o.agentPort), "--background",
		"--router-port", fmt.Sprint(o.routerPort), "--router-tls-port", fmt.Sprint(o.routerTLSPort),
		"--docker-port", fmt.Sprint(o.dockerPort)}
	if o.overlay {
		args = append(args, "--overlay")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		if _, err := os.Stat(readyFile); err == nil {
			b, _ := os.ReadFile(logPath)
			_, _ = out.Write(b)
			fmt.Fprintf(out, "The cluster runs in the background (pid %d, log %s); stop it with `%s`.\n", cmd.Process.Pid, logPath, downCommand(o.dataDir))
			return nil
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("wharf up failed (%v):\n%s", err, strings.TrimSpace(string(b)))
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
