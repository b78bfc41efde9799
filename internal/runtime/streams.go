package runtime

import (
	"context"
	"io"

	"github.com/wharfhq/wharf/api"
)

// Streamer is a Driver that can attach to its containers and run
// interactive commands in them, and tell their processes and resource
// use: what the Docker endpoint's exec, attach, top and stats need. The
// agent asks for it with a type assertion; drivers without it answer
// those calls "not implemented".
type Streamer interface {
	// ExecCreate makes an exec of cfg in container id (not started yet)
	// and returns the driver's ID for it. It fails with ErrNotFound for
	// an unknown container and ErrNotRunning when it does not run.
	ExecCreate(ctx context.Context, id string, cfg api.StreamExecConfig) (string, error)
	// ExecStart starts exec execID. With detach it returns a nil Stream
	// once the exec started; else the exec's Stream: its raw bytes when
	// tty, else its stdout and stderr multiplexed as Docker does.
	ExecStart(ctx context.Context, execID string, tty, detach bool) (Stream, error)
	// ExecResize sets the terminal size of a tty exec.
	ExecResize(ctx context.Context, execID string, height, width uint) error
	// ExecInspect tells whether exec execID runs and its exit code.
	ExecInspect(ctx context.Context, execID string) (api.StreamExecStatus, error)
	// Attach attaches to container id's streams; tty tells whether the
	// container has a terminal (raw bytes) or not (multiplexed).
	Attach(ctx context.Context, id string, opts api.StreamAttach) (s Stream, tty bool, err error)
	// Resize sets the terminal size of container id, which has one.
	Resize(ctx context.Context, id string, height, width uint) error
	// Top lists container id's processes with ps's arguments psArgs.
	Top(ctx context.Context, id string, psArgs string) (api.StreamTop, error)
	// Stats returns container id's resource use as the engine's stats
	// JSON: one object, or with stream one per line until closed.
	Stats(ctx context.Context, id string, stream bool) (io.ReadCloser, error)
}

// Stream is a two-way byte stream to a container's process.
type Stream interface {
	io.ReadWriteCloser
	// CloseWrite ends the process's standard input, leaving its output
	// to be read.
	CloseWrite() error
}
