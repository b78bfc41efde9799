package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Start runs spec.Command[0] (looked up on the agent's PATH) with the rest
// of spec.Command as arguments, in its own process group, in dir/<id>/work,
// with stdout and stderr appended to dir/<id>/output.log and stdin from
// /dev/null, with no new privileges, and as the driver's User if it has
// one (who then owns dir/<id>/work, and whose HOME it is).
//
// Its environment is the agent's own, then spec.Env, then PORT (a free
// dynamic port, also Status.HostPort), WHARF_CONTAINER_ID,
// WHARF_CONTAINER_NAME, WHARF_SERVICE, WHARF_SLOT and WHARF_NODE, which
// spec.Env cannot override.
//
// With spec.Networks it runs in network and mount namespaces of its own,
// on the networks' bridges, with their resolvers (netns.go); it listens
// on PORT there, at its own addresses. In network mode none it runs in
// namespaces of its own too, with a loopback interface only; in bridge
// and host mode (the same for this driver) it runs on the host's network.
func (d *Driver) Start(ctx context.Context, spec runtime.Spec) (runtime.Status, error) {
	if err := checkSpec(spec); err != nil {
		return runtime.Status{}, err
	}
	if err := ctx.Err(); err != nil {
		return runtime.Status{}, fmt.Errorf("exec driver: start %s: %w", spec.ID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.containers[spec.ID]
	if old != nil {
		d.refresh(old)
		if !old.rec.Exited {
			return old.status(), nil
		}
	}
	c, cmd, err := d.launch(spec, old == nil)
	if err != nil {
		return runtime.Status{}, err
	}
	d.containers[spec.ID] = c
	go d.reap(c, cmd)
	return c.status(), nil
}

// launch starts a run of spec. When fresh, a failure removes what it made.
// d.mu must be held.
func (d *Driver) launch(spec runtime.Spec, fresh bool) (*container, *osexec.Cmd, error) {
	c := &container{dir: filepath.Join(d.dir, spec.ID), done: make(chan struct{})}
	fail := func(err error) (*container, *osexec.Cmd, error) {
		if fresh {
			os.RemoveAll(c.dir)
		}
		return nil, nil, fmt.Errorf("exec driver: start %s: %w", spec.ID, err)
	}
	if err := os.MkdirAll(filepath.Join(c.dir, workDir), 0o700); err != nil {
		return fail(fmt.Errorf("%w; check the agent may write its data directory", err))
	}
	fail0 := fail
	fail = func(err error) (*container, *osexec.Cmd, error) {
		_ = removeSecrets(c.dir) // a failed start leaves no secret behind
		return fail0(err)
	}
	if err := d.handOver(c.dir); err != nil {
		return fail(err)
	}
	secrets, err := d.writeSecrets(c.dir, spec.Secrets)
	if err != nil {
		return fail(err)
	}
	port, portLock, err := freePort(d.portsInUse())
	if err != nil {
		return fail(err)
	}
	c.portLock = portLock
	fail = func(err error) (*container, *osexec.Cmd, error) {
		portLock.Close()
		_ = removeSecrets(c.dir)
		if fresh {
			os.RemoveAll(c.dir)
		}
		return nil, nil, fmt.Errorf("exec driver: start %s: %w", spec.ID, err)
	}
	var resolvConf string
	if len(spec.Networks) > 0 {
		if resolvConf, err = writeResolvConf(c.dir, spec.Networks); err != nil {
			return fail(err)
		}
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fail(fmt.Errorf("open log: %w", err))
	}
	cmd := osexec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Dir = filepath.Join(c.dir, workDir)
	cmd.Env = environ(userEnv(os.Environ(), d.user, cmd.Dir), spec, port)
	if secrets != "" {
		cmd.Env = append(cmd.Env, "WHARF_SECRETS_DIR="+secrets) // the last one wins over spec.Env's
	}
	cmd.Stdout, cmd.Stderr = logf, logf // the child writes the file itself: it outlives the agent
	// No Pdeathsig: the process must survive an agent restart to be adopted.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: d.user.credential()}
	var links []string
	if ownNetwork(spec) {
		links, err = startNetworked(cmd, spec.ID, spec.Networks, resolvConf)
	} else {
		err = startNoNewPrivs(cmd)
	}
	logf.Close()
	var se startErr
	if err != nil && ownNetwork(spec) && !errors.As(err, &se) {
		return fail(fmt.Errorf("connect to its networks: %w", err))
	}
	if err != nil {
		if hint := permissionHint(err, d.user); hint != "" {
			return fail(fmt.Errorf("cannot run command %q: %w%s", spec.Command[0], err, hint))
		}
		return fail(fmt.Errorf("cannot run command %q: %w; check that it exists, is executable and is on the agent's PATH", spec.Command[0], err))
	}
	pid := cmd.Process.Pid
	kill := func() {
		_ = signalGroup(pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = deleteLinks(links)
	}
	st, err := readProcStat(pid) // our unreaped child: the PID cannot have been reused
	if err != nil {
		kill()
		return fail(fmt.Errorf("read start time of PID %d: %w; is /proc mounted?", pid, err))
	}
	c.rec = record{Spec: spec, PID: pid, StartTime: st.startTime, Port: port, StartedAt: time.Now(), User: d.user, Links: links}
	if err := writeRecord(c.dir, c.rec); err != nil {
		kill() // a run without state could not be adopted after an agent restart
		return fail(err)
	}
	return c, cmd, nil
}

// reap waits for c's process, ends whatever is left of its group and
// records the exit.
func (d *Driver) reap(c *container, cmd *osexec.Cmd) {
	waitErr := cmd.Wait()
	_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	code, reason := -1, fmt.Sprintf("exit status unknown: %v", waitErr)
	if cmd.ProcessState != nil {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			code, reason = exitStatus(ws)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finish(c, code, reason)
}

// handOver lets the driver's user, if any, reach a run's directory dir
// (mode 0711) and own its working directory; the log and the state stay
// the agent's.
func (d *Driver) handOver(dir string) error {
	if d.user == nil {
		return nil
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("let %s reach %s: %w", d.user, dir, err)
	}
	if err := os.Chown(filepath.Join(dir, workDir), int(d.user.UID), int(d.user.GID)); err != nil {
		return fmt.Errorf("give %s its working directory: %w; the agent must run as root to run workloads as another user", d.user, err)
	}
	return nil
}

// userEnv is base with HOME (the run's working directory), USER and
// LOGNAME of u when the run is not the agent's own user; spec.Env may
// still set them.
func userEnv(base []string, u *User, work string) []string {
	if u == nil {
		return base
	}
	return append(slices.Clip(base), "HOME="+work, "USER="+u.Name, "LOGNAME="+u.Name)
}

// portsInUse are the host ports of running containers. d.mu must be held.
func (d *Driver) portsInUse() map[int]bool {
	inUse := make(map[int]bool)
	for _, c := range d.containers {
		if !c.rec.Exited {
			inUse[c.rec.Port] = true
		}
	}
	return inUse
}

// environ builds a run's environment: base, then spec.Env, then the
// variables the driver owns.
func environ(base []string, spec runtime.Spec, port int) []string {
	env := make(map[string]string, len(base)+len(spec.Env)+6)
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	env["PORT"] = strconv.Itoa(port)
	env["WHARF_CONTAINER_ID"] = spec.ID
	env["WHARF_CONTAINER_NAME"] = spec.Name
	env["WHARF_SERVICE"] = spec.Service
	env["WHARF_SLOT"] = strconv.Itoa(spec.Slot)
	env["WHARF_NODE"] = spec.Node
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// checkSpec rejects specs the exec driver cannot run.
func checkSpec(spec runtime.Spec) error {
	if err := checkID(spec.ID); err != nil {
		return fmt.Errorf("exec driver: start: %w", err)
	}
	if spec.Image != "" {
		return fmt.Errorf("exec driver: start %s: the exec driver cannot run images (image %q); give a Command, or use the docker driver", spec.ID, spec.Image)
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return fmt.Errorf("exec driver: start %s: Command is empty; the exec driver needs a command to run", spec.ID)
	}
	if err := checkNetworks(spec.Networks); err != nil {
		return fmt.Errorf("exec driver: start %s: %w", spec.ID, err)
	}
	if err := checkNetworkMode(spec); err != nil {
		return fmt.Errorf("exec driver: start %s: %w", spec.ID, err)
	}
	for k, v := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return fmt.Errorf("exec driver: start %s: environment variable %q: names must be non-empty without '=' or NUL, values without NUL", spec.ID, k)
		}
	}
	return nil
}

// checkID accepts IDs that are safe as a directory name: 1 to 128 of
// A-Z a-z 0-9 . _ -, not starting with '.'.
func checkID(id string) error {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return fmt.Errorf("container ID %q must be 1 to 128 characters and not start with '.'", id)
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return fmt.Errorf("container ID %q: character %q is not allowed (A-Z a-z 0-9 . _ - only)", id, r)
		}
	}
	return nil
}
