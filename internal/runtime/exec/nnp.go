package exec

import (
	"fmt"
	osexec "os/exec"
	goruntime "runtime"
	"sync"
	"syscall"
)

// No new privileges: every process the driver starts (workloads and
// commands exec'd into them) has PR_SET_NO_NEW_PRIVS set, so that no
// setuid or file-capability program it runs can give it more privileges
// than it started with. The flag belongs to a thread and children inherit
// it, and Go starts a child from the thread of the goroutine that calls
// Start; so one goroutine, locked to its own thread on which the flag is
// set, starts them all. The agent's other threads keep their privileges
// (the Go runtime never makes new threads from a locked one), and the
// locked goroutine never unlocks, so no other goroutine runs there.

// prSetNoNewPrivs is PR_SET_NO_NEW_PRIVS of prctl(2), Linux 3.5 and later.
const prSetNoNewPrivs = 38

// spawner starts processes from its no-new-privileges thread.
var spawner struct {
	once sync.Once
	err  error
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *osexec.Cmd
	done chan error
}

// startSpawner starts the spawner's thread once; it fails when the kernel
// refuses the flag.
func startSpawner() error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		ready := make(chan error)
		go func() {
			goruntime.LockOSThread() // for good: the thread ends with this goroutine
			if err := setNoNewPrivs(); err != nil {
				ready <- fmt.Errorf("exec driver: %w", err)
				return
			}
			ready <- nil
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
		spawner.err = <-ready
	})
	return spawner.err
}

// startNoNewPrivs starts cmd with no new privileges.
func startNoNewPrivs(cmd *osexec.Cmd) error {
	if err := startSpawner(); err != nil {
		return err
	}
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// setNoNewPrivs sets no-new-privileges on the calling thread, which must be
// locked to its goroutine for good. Threads that start processes in a
// container's namespaces (netns.go) set it too.
func setNoNewPrivs() error {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("set no-new-privileges: %w; the exec driver needs Linux 3.5 or later", errno)
	}
	return nil
}
