//go:build unix

package router

// Whether an idle backend connection is still open, asked of the kernel.

import (
	"syscall"
)

// alive tells whether an idle connection is still usable: the backend has
// neither closed it nor sent anything on it. It peeks without blocking.
func (pc *pconn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	sc, ok := pc.c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	open := true
	var probe [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// Nothing to read: open. A byte or the end (0, nil): not usable.
		_, _, rerr := syscall.Recvfrom(int(fd), probe[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK || rerr == syscall.EINTR
		return true
	})
	return err == nil && open
}
