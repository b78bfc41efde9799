package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"syscall"

	"github.com/wharfhq/wharf/internal/runtime"
)

var _ runtime.Execer = (*Driver)(nil)

// Exec runs cmd as a process with the container's environment (as its run
// got it, PORT included), user and working directory, in a process group of its
// own that is killed when ctx ends, in the run's network and mount
// namespaces if it has networks. It returns the command's exit code
// (128+n when killed by signal n).
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, w io.Writer) (int, error) {
	if len(cmd) == 0 || cmd[0] == "" {
		return -1, errors.New("exec driver: exec: no command given")
	}
	d.mu.Lock()
	c, err := d.get(id)
	var rec record
	if err == nil {
		d.refresh(c)
		rec = c.rec
	}
	d.mu.Unlock()
	if err != nil {
		return -1, err
	}
	if rec.Exited {
		return -1, fmt.Errorf("exec driver: exec in %s: %w; start it first", id, runtime.ErrNotRunning)
	}
	p := osexec.Command(cmd[0], cmd[1:]...)
	p.Dir = filepath.Join(c.dir, workDir)
	p.Env = environ(userEnv(os.Environ(), rec.User, p.Dir), rec.Spec, rec.Port)
	if rec.Spec.SecretsVersion != "" { // the run's secrets, as it sees them
		p.Env = append(p.Env, "WHARF_SECRETS_DIR="+filepath.Join(c.dir, secretsDir))
	}
	p.Stdout, p.Stderr = w, w
	// As the run's own user, whatever the driver's user is now.
	p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: rec.User.credential()}
	if len(rec.Links) > 0 || ownNetwork(rec.Spec) { // in its namespaces, as the run itself
		err = startInNamespacesOf(p, rec.PID, rec.StartTime)
	} else {
		err = startNoNewPrivs(p)
	}
	var se startErr
	if err != nil && (len(rec.Links) > 0 || ownNetwork(rec.Spec)) && !errors.As(err, &se) {
		return -1, fmt.Errorf("exec driver: exec in %s: %w", id, err)
	}
	if err != nil {
		return -1, fmt.Errorf("exec driver: cannot run %q in %s: %w; check that it exists on the node's PATH%s", cmd[0], id, err, permissionHint(err, rec.User))
	}
	stop := context.AfterFunc(ctx, func() { _ = signalGroup(p.Process.Pid, syscall.SIGKILL) })
	defer stop()
	err = p.Wait()
	var ee *osexec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			code, _ := exitStatus(ws)
			return code, nil
		}
		return ee.ExitCode(), nil
	default:
		return -1, fmt.Errorf("exec driver: exec in %s: %w", id, err)
	}
}
