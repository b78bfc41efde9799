package docker

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Logs writes id's output, stdout and stderr interleaved as the engine
// recorded them, to w. The engine multiplexes the two streams of a
// container without a terminal, and Logs demultiplexes them; a terminal's
// output is one stream, copied as it is.
func (d *Driver) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	in, err := d.find(ctx, id)
	if err != nil {
		return err
	}
	tail := "all"
	if opts.Tail > 0 {
		tail = strconv.Itoa(opts.Tail)
	}
	rc, err := d.cli.ContainerLogs(ctx, in.ID, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: tail,
	})
	if err != nil {
		if ctx.Err() != nil && opts.Follow {
			return nil
		}
		return engineErr(id, "read logs of", err)
	}
	defer rc.Close()
	copyOut := func() error { _, err := stdcopy.StdCopy(w, w, rc); return err }
	if in.Config != nil && in.Config.Tty {
		copyOut = func() error { _, err := io.Copy(w, rc); return err }
	}
	if err := copyOut(); err != nil {
		if ctx.Err() != nil && opts.Follow {
			return nil // following ends with ctx
		}
		return fmt.Errorf("docker driver: read logs of container %s: %w", id, err)
	}
	return nil
}
