// Package multihost tests a real Wharf cluster spread over Docker
// containers: one server container and agent containers on a private
// network, each agent under nodeinit (a tiny PID 1 that restarts it), all
// built FROM scratch with static binaries, since no registry is reachable.
// The tests kill and restart agents and the server and check, through the
// CLI on the host and `docker top`, that nodes come back and that no
// workload process is restarted.
//
// The tests skip when no Docker engine answers, unless WHARF_REQUIRE_DOCKER=1
// is set, in which case they fail. They build the wharf binary unless
// WHARF_BIN names a static one.
package multihost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pollEvery is how often the tests look again while they wait.
const pollEvery = 200 * time.Millisecond

// dockerTimeout bounds one docker CLI call that is not a build.
const dockerTimeout = 60 * time.Second

// Docker runs one docker CLI command and returns its trimmed stdout.
func Docker(args ...string) (string, error) {
	return run(dockerTimeout, nil, "docker", args...)
}

// run runs name with args and extra environment, within timeout.
func run(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timeout %s)", err, timeout)
		}
		return stdout.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// DockerAvailable reports why no Docker engine answers, or nil.
func DockerAvailable() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return err
	}
	out, err := run(15*time.Second, nil, "docker", "version", "--format", "{{.Server.Version}}")
	if err != nil {
		return err
	}
	if out == "" {
		return errors.New("docker version: no server version")
	}
	return nil
}

// RequireDocker skips t when no Docker engine answers, or fails it when
// WHARF_REQUIRE_DOCKER=1.
func RequireDocker(t testing.TB) {
	t.Helper()
	if err := DockerAvailable(); err != nil {
		if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
			t.Fatalf("no Docker engine, and WHARF_REQUIRE_DOCKER=1: %v", err)
		}
		t.Skipf("no Docker engine (set WHARF_REQUIRE_DOCKER=1 to fail instead): %v", err)
	}
}

// Poll calls fn every pollEvery until it returns nil or timeout passes. It
// returns how long that took, or fn's last error.
func Poll(timeout time.Duration, fn func() error) (time.Duration, error) {
	start := time.Now()
	for {
		err := fn()
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) >= timeout {
			return time.Since(start), fmt.Errorf("not within %s: %w", timeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// Eventually is Poll that fails t, naming what it waited for.
func Eventually(t testing.TB, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	d, err := Poll(timeout, fn)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return d
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
