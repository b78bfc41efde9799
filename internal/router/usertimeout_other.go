//go:build !linux

package router

import "syscall"

// setUserTimeout does nothing where TCP_USER_TIMEOUT is Linux's alone.
func setUserTimeout(_, _ string, _ syscall.RawConn) error { return nil }
