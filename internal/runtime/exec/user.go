package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// User is who an exec driver runs its workloads as, instead of the agent's
// own user (which must then be root to switch).
type User struct {
	Name string `json:"name"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
}

// String is "nobody (uid 65534)".
func (u *User) String() string { return fmt.Sprintf("%s (uid %d)", u.Name, u.UID) }

// Nobody is the conventional UID and GID of the unprivileged user
// "nobody" (the kernel's overflow UID).
const Nobody = 65534

// LookupUser finds a user by name or numeric UID in the host's user
// database; its primary group is the run's only group. A numeric UID that
// the database lacks (a host without /etc/passwd, such as a FROM scratch
// image) is taken as it is, with the same GID, and so is "nobody": 65534.
func LookupUser(name string) (*User, error) {
	var (
		u   *user.User
		err error
	)
	num, nerr := strconv.ParseUint(name, 10, 32)
	if nerr == nil {
		u, err = user.LookupId(name)
	} else {
		u, err = user.Lookup(name)
	}
	switch {
	case err != nil && nerr == nil:
		return &User{Name: name, UID: uint32(num), GID: uint32(num)}, nil
	case err != nil && name == "nobody":
		return &User{Name: name, UID: Nobody, GID: Nobody}, nil
	case err != nil:
		return nil, fmt.Errorf("exec driver: user %q: %w; name a user of this host (see /etc/passwd) or a numeric UID", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("exec driver: user %q has UID %q; want a number", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("exec driver: user %q has GID %q; want a number", name, u.Gid)
	}
	return &User{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}, nil
}

// credential is how a run of u is started: u's UID and GID, and no
// supplementary groups (Groups is empty, so the child drops the agent's).
func (u *User) credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
}

// canSearch reports whether u may search (pass through) the directory fi.
func (u *User) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell: let the start say so if it fails
	}
	perm := fi.Mode().Perm()
	switch {
	case u.UID == 0:
		return true
	case st.Uid == u.UID:
		return perm&0o100 != 0
	case st.Gid == u.GID:
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

// checkReach makes dir searchable by u (mode 0711: it may pass through,
// not list) and checks that u may search every directory above it, so that
// a run's working directory below it is reachable. The error names the
// directory in the way and what to do.
func checkReach(dir string, u *User) error {
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("exec driver: let %s search %s: %w", u, dir, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("exec driver: %w", err)
		}
		if !u.canSearch(fi) {
			return fmt.Errorf("exec driver: workloads run as %s, who cannot reach their working directories under %s: "+
				"%s (mode %04o) does not let that user search it; let it (chmod o+x %s), give the agent a --data-dir it can reach "+
				"(such as /var/lib/wharf), or start the agent with --exec-user USER or --exec-as-root",
				u, dir, p, fi.Mode().Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// permissionHint explains a start that failed for lack of permission when
// the run is not the agent's own user; otherwise it returns "".
func permissionHint(err error, u *User) string {
	if u == nil || !errors.Is(err, fs.ErrPermission) {
		return ""
	}
	return fmt.Sprintf("; the workload runs as %s: let that user read and execute the program and search every directory above it, "+
		"or start the agent with --exec-user USER or --exec-as-root", u)
}
