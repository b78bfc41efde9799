package router

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setUserTimeout makes the kernel give up on a backend connection whose
// sent data stays unacknowledged for backendUserTimeout (TCP_USER_TIMEOUT):
// a backend whose node died answers nothing, not even a reset, and without
// it a request sent there would wait for minutes.
func setUserTimeout(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(backendUserTimeout.Milliseconds()))
	})
	if err != nil {
		return err
	}
	return serr
}
