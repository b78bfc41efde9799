package exec

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// portLockDir holds one lock file per port an exec container of any agent
// on this host was given. Several agents share a host under `wharf up` and
// in tests; each draws ports on its own, and a probe that finds a port free
// cannot tell that another agent has just handed it to a workload that has
// not bound it yet. An advisory lock, held while the container runs, can.
func portLockDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("wharf-exec-ports-%d", os.Getuid()))
}

// reservePort takes the host-wide reservation of port without waiting. It
// returns nil, nil when another agent holds it. The kernel drops the lock
// when the file is closed or the agent dies; an adopted container takes it
// again when its agent restarts.
func reservePort(port int) (*os.File, error) {
	dir := portLockDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("reserve port %d: %w; check the agent may write %s", port, err, os.TempDir())
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("reserve port %d: %w", port, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("reserve port %d: %w", port, err)
	}
	return f, nil
}

// claimPort reserves port if no container of this driver has it, no other
// agent has reserved it and nothing listens on it. It returns nil when the
// port is not to be had.
func claimPort(port int, inUse map[int]bool) (*os.File, error) {
	if inUse[port] {
		return nil, nil
	}
	lock, err := reservePort(port)
	if lock == nil || err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		lock.Close()
		return nil, nil
	}
	_ = ln.Close()
	return lock, nil
}
