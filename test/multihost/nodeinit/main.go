// Command nodeinit is the PID 1 of the multi-host test's agent containers.
//
// It runs the command after "--" (the Wharf agent) as its child and starts
// it again whenever it exits. SIGUSR1 SIGKILLs the child, which is then
// restarted at once: that is how the test restarts an agent without touching
// the workloads it runs. As PID 1 it reaps every orphan the kernel hands it
// (exec workloads outlive their agent and are re-parented here). SIGTERM and
// SIGINT are forwarded to the child; nodeinit exits once the child has.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	restartMin = 200 * time.Millisecond
	restartMax = 5 * time.Second
	// stable is how long a child must run for its restart delay to reset.
	stable = 10 * time.Second
	// stopGrace is how long a forwarded SIGTERM gets before SIGKILL.
	stopGrace = 8 * time.Second
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: nodeinit -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

// supervisor is nodeinit's state; only run's goroutine touches it.
type supervisor struct {
	args     []string
	pid      int // the child's PID, 0 while none runs
	started  time.Time
	delay    time.Duration // wait before the next unplanned restart
	killed   bool          // the child was SIGKILLed on request: restart at once
	stopping bool          // SIGTERM came: do not restart, exit with the child
	status   int           // exit code once stopping and the child is gone
}

func run(args []string) int {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	s := &supervisor{args: args, delay: restartMin}
	if err := s.start(); err != nil {
		logf("start: %v", err)
		return 1
	}
	// Safety nets: a tick that reaps in case a SIGCHLD was coalesced away,
	// and the timers for a delayed restart and a stop deadline.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var restart, deadline <-chan time.Time
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				if s.pid > 0 && !s.stopping {
					logf("SIGUSR1: killing agent pid %d", s.pid)
					s.killed = true
					_ = syscall.Kill(s.pid, syscall.SIGKILL)
				}
			case syscall.SIGTERM, syscall.SIGINT:
				s.stopping = true
				if s.pid == 0 {
					return 0
				}
				logf("%v: forwarding to agent pid %d", sig, s.pid)
				_ = syscall.Kill(s.pid, sig.(syscall.Signal))
				deadline = time.After(stopGrace)
			}
		case <-deadline:
			if s.pid > 0 {
				logf("agent pid %d still running after %s; killing it", s.pid, stopGrace)
				_ = syscall.Kill(s.pid, syscall.SIGKILL)
			}
		case <-tick.C:
		case <-restart:
			restart = nil
			if err := s.start(); err != nil {
				logf("start: %v", err)
				restart = time.After(s.backoff())
			}
			continue
		}
		if !s.reap() {
			continue
		}
		// The child is gone.
		if s.stopping {
			return s.status
		}
		wait := time.Duration(0)
		if !s.killed {
			wait = s.backoff()
		}
		s.killed = false
		logf("restarting agent in %s", wait)
		restart = time.After(wait)
	}
}

// start runs the child with nodeinit's own stdio and environment.
func (s *supervisor) start() error {
	pid, err := syscall.ForkExec(s.args[0], s.args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		return fmt.Errorf("%s: %w", s.args[0], err)
	}
	s.pid, s.started = pid, time.Now()
	logf("agent started, pid %d", pid)
	return nil
}

// backoff returns the delay before an unplanned restart and doubles the
// next one, unless the child had been running long enough to count as
// healthy.
func (s *supervisor) backoff() time.Duration {
	if time.Since(s.started) >= stable {
		s.delay = restartMin
	}
	d := s.delay
	s.delay = min(2*s.delay, restartMax)
	return d
}

// reap collects every exited child without blocking: the agent and any
// orphan re-parented to PID 1. It reports whether the agent was among them.
func (s *supervisor) reap() bool {
	agentGone := false
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited
			return agentGone
		}
		if pid == s.pid {
			agentGone = true
			s.pid = 0
			s.status = exitCode(ws)
			logf("agent pid %d exited: %s", pid, describe(ws))
		}
	}
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exit code %d", ws.ExitStatus())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nodeinit: "+format+"\n", args...)
}
