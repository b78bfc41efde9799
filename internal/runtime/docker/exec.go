package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/runtime"
)

var _ runtime.Execer = (*Driver)(nil)

// execPoll is how often Exec asks the engine whether an exec whose output
// has ended has exited too.
const execPoll = 20 * time.Millisecond

// Exec runs cmd in id's running container, with no TTY and no stdin,
// writing its stdout and stderr, demultiplexed, to w, and returns its exit
// code once it has exited. An unknown id is runtime.ErrNotFound; a
// container that does not run is runtime.ErrNotRunning.
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, w io.Writer) (int, error) {
	if len(cmd) == 0 {
		return -1, fmt.Errorf("docker driver: exec in container %s: no command", id)
	}
	in, err := d.find(ctx, id)
	if err != nil {
		return -1, err
	}
	if in.State == nil || !in.State.Running {
		return -1, fmt.Errorf("docker driver: exec in container %s: %w", id, runtime.ErrNotRunning)
	}
	ex, err := d.cli.ExecCreate(ctx, in.ID, client.ExecCreateOptions{
		AttachStdout: true, AttachStderr: true, Cmd: cmd,
	})
	if err != nil {
		return -1, d.execErr(ctx, id, in.ID, err)
	}
	att, err := d.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, d.execErr(ctx, id, in.ID, err)
	}
	defer att.Close()
	// The hijacked connection does not watch ctx: close it when ctx ends,
	// which ends the copy below.
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	if _, err := stdcopy.StdCopy(w, w, att.Reader); err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("docker driver: exec in container %s: %w", id, ctx.Err())
		}
		return -1, fmt.Errorf("docker driver: exec in container %s: read output: %w", id, err)
	}
	// The output ends when the process does, but the engine may record
	// the exit a moment later.
	for {
		res, err := d.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			return -1, d.execErr(ctx, id, in.ID, err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("docker driver: exec in container %s: %w", id, ctx.Err())
		case <-time.After(execPoll):
		}
	}
}

// execErr maps an engine error of an exec in container cid (the driver's
// id) to runtime.ErrNotFound if the container is gone and
// runtime.ErrNotRunning if it no longer runs.
func (d *Driver) execErr(ctx context.Context, id, cid string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("docker driver: exec in container %s: %w", id, ctx.Err())
	}
	if cerrNotFound(err) {
		return notFound(id, err)
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	got, ierr := d.cli.ContainerInspect(ictx, cid, client.ContainerInspectOptions{})
	switch {
	case cerrNotFound(ierr):
		return notFound(id, err)
	case ierr == nil && (got.Container.State == nil || !got.Container.State.Running):
		return fmt.Errorf("docker driver: exec in container %s: %w (%w)", id, runtime.ErrNotRunning, err)
	}
	return fmt.Errorf("docker driver: exec in container %s: %w", id, err)
}
