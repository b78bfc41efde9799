package runtime

import (
	"context"
	"errors"
	"io"
)

// Execer is a Driver that can run a command inside a container it runs.
// The agent asks for it with a type assertion; drivers that cannot exec
// do not implement it.
type Execer interface {
	// Exec runs cmd in the container's environment, writing its combined
	// output to w, and returns its exit code once it ends (or ctx ends). It
	// fails with ErrNotFound for an unknown container and ErrNotRunning when
	// the container does not run.
	Exec(ctx context.Context, id string, cmd []string, w io.Writer) (exitCode int, err error)
}

// ErrNotRunning means the container exists but has no live run.
var ErrNotRunning = errors.New("container is not running")
