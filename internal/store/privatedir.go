package store

import (
	"fmt"
	"os"
	"syscall"
)

// EnsurePrivateDir makes dir (creating it if needed) a directory that only
// this user can enter: mode 0700, owned by this process's user. The
// server's unix sockets, keys and etcd data rely on it. A dir that exists
// with looser modes is tightened (fixed reports it, for a log line); one
// owned by another user is refused, since its owner could reach
// everything in it.
func EnsurePrivateDir(dir string) (fixed bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("data dir %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return false, fmt.Errorf("data dir %s belongs to uid %d, not to this user (uid %d): its owner could read the server's keys and reach its sockets; use a directory of your own (--data-dir)", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() == 0o700 {
		return false, nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return false, fmt.Errorf("data dir %s has mode %o and could not be made 0700: %w", dir, fi.Mode().Perm(), err)
	}
	return true, nil
}
