package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// The engine's exec, attach, top and stats, for the Docker endpoint.

var _ runtime.Streamer = (*Driver)(nil)

// ExecCreate makes an exec of cfg in id's running container.
func (d *Driver) ExecCreate(ctx context.Context, id string, cfg api.StreamExecConfig) (string, error) {
	if len(cfg.Cmd) == 0 {
		return "", fmt.Errorf("docker driver: exec in container %s: no command", id)
	}
	in, err := d.find(ctx, id)
	if err != nil {
		return "", err
	}
	if in.State == nil || !in.State.Running {
		return "", fmt.Errorf("docker driver: exec in container %s: %w", id, runtime.ErrNotRunning)
	}
	opts := client.ExecCreateOptions{
		User: cfg.User, TTY: cfg.Tty, AttachStdin: cfg.AttachStdin, AttachStdout: cfg.AttachStdout,
		AttachStderr: cfg.AttachStderr, DetachKeys: cfg.DetachKeys, Env: cfg.Env,
		WorkingDir: cfg.WorkingDir, Cmd: cfg.Cmd,
	}
	if cfg.Tty && cfg.ConsoleSize[0] > 0 && cfg.ConsoleSize[1] > 0 {
		opts.ConsoleSize = client.ConsoleSize{Height: cfg.ConsoleSize[0], Width: cfg.ConsoleSize[1]}
	}
	ex, err := d.cli.ExecCreate(ctx, in.ID, opts)
	if err != nil {
		return "", d.execErr(ctx, id, in.ID, err)
	}
	return ex.ID, nil
}

// execWait bounds how long ExecStart's stream waits, once the output has
// ended, for the engine to record the exit code.
const execWait = 2 * time.Second

// ExecStart starts exec execID, attached unless detach.
func (d *Driver) ExecStart(ctx context.Context, execID string, tty, detach bool) (runtime.Stream, error) {
	if detach {
		if _, err := d.cli.ExecStart(ctx, execID, client.ExecStartOptions{Detach: true, TTY: tty}); err != nil {
			return nil, execIDErr(execID, err)
		}
		return nil, nil
	}
	att, err := d.cli.ExecAttach(ctx, execID, client.ExecAttachOptions{TTY: tty})
	if err != nil {
		return nil, execIDErr(execID, err)
	}
	return &hijacked{r: att.Reader, conn: att.Conn, atEOF: func() {
		// The output ends as the process does; the engine may record the
		// exit a moment later, and the client asks for it next.
		wctx, cancel := context.WithTimeout(context.Background(), execWait)
		defer cancel()
		for wctx.Err() == nil {
			res, err := d.cli.ExecInspect(wctx, execID, client.ExecInspectOptions{})
			if err != nil || !res.Running {
				return
			}
			select {
			case <-wctx.Done():
			case <-time.After(execPoll):
			}
		}
	}}, nil
}

// ExecResize sets the terminal size of exec execID.
func (d *Driver) ExecResize(ctx context.Context, execID string, height, width uint) error {
	_, err := d.cli.ExecResize(ctx, execID, client.ExecResizeOptions{Height: height, Width: width})
	if err != nil {
		return execIDErr(execID, err)
	}
	return nil
}

// ExecInspect tells whether exec execID runs, and its exit code.
func (d *Driver) ExecInspect(ctx context.Context, execID string) (api.StreamExecStatus, error) {
	res, err := d.cli.ExecInspect(ctx, execID, client.ExecInspectOptions{})
	if err != nil {
		return api.StreamExecStatus{}, execIDErr(execID, err)
	}
	return api.StreamExecStatus{Running: res.Running, ExitCode: res.ExitCode, Pid: res.PID}, nil
}

// Attach attaches to id's container. The output of a container with a
// terminal (spec.TTY) comes raw, else multiplexed; it reports which. The
// input of an interactive container (spec.Interactive) is written to
// the stream, and CloseWrite ends it.
func (d *Driver) Attach(ctx context.Context, id string, opts api.StreamAttach) (runtime.Stream, bool, error) {
	in, err := d.find(ctx, id)
	if err != nil {
		return nil, false, err
	}
	tty := in.Config != nil && in.Config.Tty
	att, err := d.cli.ContainerAttach(ctx, in.ID, client.ContainerAttachOptions{
		Stream: opts.Stream, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Logs: opts.Logs,
	})
	if err != nil {
		return nil, false, engineErr(id, "attach to", err)
	}
	h := &hijacked{r: att.Reader, conn: att.Conn}
	// The engine keeps an attach to a container that has exited open
	// (one that exits as it is attached, say): once it no longer runs,
	// what is left to read is read within attachDrain, then the stream
	// ends.
	wctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	waited := d.cli.ContainerWait(wctx, in.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	go func() {
		select {
		case <-waited.Result:
			h.exited.Store(true)
			_ = att.Conn.SetReadDeadline(time.Now().Add(attachDrain))
		case <-waited.Error:
		case <-wctx.Done():
		}
	}()
	return h, tty, nil
}

// Resize sets the terminal size of id's container (docker run -t).
func (d *Driver) Resize(ctx context.Context, id string, height, width uint) error {
	in, err := d.find(ctx, id)
	if err != nil {
		return err
	}
	if _, err := d.cli.ContainerResize(ctx, in.ID, client.ContainerResizeOptions{Height: height, Width: width}); err != nil {
		return engineErr(id, "resize the terminal of", err)
	}
	return nil
}

// attachDrain is how long an attach reads on once its container exited.
const attachDrain = time.Second

// Top lists the processes of id's running container.
func (d *Driver) Top(ctx context.Context, id string, psArgs string) (api.StreamTop, error) {
	in, err := d.find(ctx, id)
	if err != nil {
		return api.StreamTop{}, err
	}
	if in.State == nil || !in.State.Running {
		return api.StreamTop{}, fmt.Errorf("docker driver: top of container %s: %w", id, runtime.ErrNotRunning)
	}
	res, err := d.cli.ContainerTop(ctx, in.ID, client.ContainerTopOptions{Arguments: strings.Fields(psArgs)})
	if err != nil {
		return api.StreamTop{}, engineErr(id, "list the processes of", err)
	}
	return api.StreamTop{Titles: res.Titles, Processes: res.Processes}, nil
}

// Stats returns the engine's stats of id's container.
func (d *Driver) Stats(ctx context.Context, id string, stream bool) (io.ReadCloser, error) {
	in, err := d.find(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := d.cli.ContainerStats(ctx, in.ID, client.ContainerStatsOptions{Stream: stream, IncludePreviousSample: !stream})
	if err != nil {
		return nil, engineErr(id, "read the stats of", err)
	}
	return res.Body, nil
}

// execIDErr maps the engine's "no such exec" to runtime.ErrNotFound.
func execIDErr(execID string, err error) error {
	if cerrNotFound(err) {
		return fmt.Errorf("docker driver: exec %s: %w (%w)", execID, runtime.ErrNotFound, err)
	}
	return fmt.Errorf("docker driver: exec %s: %w", execID, err)
}

// hijacked is the engine's hijacked connection as a runtime.Stream.
type hijacked struct {
	r      io.Reader
	conn   net.Conn
	atEOF  func() // called once when the output ends, if set
	stop   func() // called by Close, if set
	exited atomic.Bool
}

func (h *hijacked) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err != nil && h.exited.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		err = io.EOF // the container exited and its output is drained
	}
	if err == io.EOF && h.atEOF != nil {
		f := h.atEOF
		h.atEOF = nil
		f()
	}
	return n, err
}

func (h *hijacked) Write(p []byte) (int, error) { return h.conn.Write(p) }

func (h *hijacked) Close() error {
	if h.stop != nil {
		h.stop()
	}
	return h.conn.Close()
}

func (h *hijacked) CloseWrite() error {
	if cw, ok := h.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
