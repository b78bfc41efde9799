package exec

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	osexec "os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/internal/runtime"
)

// resolvFile is the run's /etc/resolv.conf, in its directory.
const resolvFile = "resolv.conf"

// hostResolvConf is where a run with networks finds its resolver.
const hostResolvConf = "/etc/resolv.conf"

// writeResolvConf writes dir/resolv.conf naming the DNS servers of nets
// (each once, the first attachment's first) and returns its path; "" when
// no attachment has one, and the run then sees the host's file.
func writeResolvConf(dir string, nets []runtime.Attachment) (string, error) {
	var servers []netip.Addr
	for _, a := range nets {
		if a.DNS.IsValid() && !slices.Contains(servers, a.DNS) {
			servers = append(servers, a.DNS)
		}
	}
	if len(servers) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteString("# Written by the Wharf agent for this container: its networks' resolvers.\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	// Names without dots (a service, "web-1") go to the resolver as they
	// are, before any search domain.
	b.WriteString("options ndots:0\n")
	path := filepath.Join(dir, resolvFile)
	// 0644: whoever the workload runs as reads it through the bind mount.
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // against the umask
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// privateResolvConf makes the calling thread's mount namespace, just
// unshared from the host's, a slave of it (so that nothing mounted in it
// reaches the host) and mounts file, if not "", on /etc/resolv.conf.
//
// Exec containers share the host's files, so the file must exist on the
// host to be mounted over: without it (or when it is a dangling link, as
// a systemd-resolved link can be before the service starts) the start
// fails and says so, rather than run a workload whose names never
// resolve.
func privateResolvConf(file string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make the container's mount namespace a slave of the host's: %w", err)
	}
	if file == "" {
		return nil
	}
	if err := unix.Mount(file, hostResolvConf, "", unix.MS_BIND, ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("give the container its resolver: %s does not exist on this node (or is a dangling link), "+
				"so there is nothing to mount the container's own over; create it (an empty file will do)", hostResolvConf)
		}
		return fmt.Errorf("mount the container's resolver on %s: %w", hostResolvConf, err)
	}
	return nil
}

// startInNamespacesOf starts cmd in the network and mount namespaces of
// process pid, which started at startTime, from a locked thread that ends
// with it (see netns.go).
func startInNamespacesOf(cmd *osexec.Cmd, pid int, startTime uint64) error {
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // for good: its namespaces change, and it ends with this goroutine
		done <- spawnInNamespacesOf(cmd, pid, startTime)
	}()
	return <-done
}

// spawnInNamespacesOf runs on a locked thread that never runs another
// goroutine.
func spawnInNamespacesOf(cmd *osexec.Cmd, pid int, startTime uint64) error {
	if err := setNoNewPrivs(); err != nil {
		return err
	}
	proc := "/proc/" + strconv.Itoa(pid) + "/ns/"
	netfd, err := unix.Open(proc+"net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's network namespace: %w", err)
	}
	defer unix.Close(netfd)
	mntfd, err := unix.Open(proc+"mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's mount namespace: %w", err)
	}
	defer unix.Close(mntfd)
	// The namespaces are held open now: if pid is still the run, they are
	// the run's.
	if !isAlive(pid, startTime) {
		return fmt.Errorf("the container's process %d has exited: %w", pid, runtime.ErrNotRunning)
	}
	// A thread sharing its filesystem context with others may not change
	// its mount namespace.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the filesystem context: %w", err)
	}
	if err := unix.Setns(netfd, unix.CLONE_NEWNET); err != nil {
		return needRootErr("enter the container's network namespace", err)
	}
	if err := unix.Setns(mntfd, unix.CLONE_NEWNS); err != nil {
		return needRootErr("enter the container's mount namespace", err)
	}
	if err := cmd.Start(); err != nil {
		return startErr{err}
	}
	return nil
}
