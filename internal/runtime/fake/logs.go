package fake

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/wharfhq/wharf/internal/runtime"
)

// Logs writes the container's synthetic output: a "started" line, the
// lines of EnvOutput and, once it exited, an "exited" line.
func (d *Driver) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	d.mu.Lock()
	c, err := d.get(id)
	var (
		lines  []string
		exited bool
	)
	if err == nil {
		lines, exited = c.lines(), c.status.State == runtime.StateExited
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if opts.Tail > 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	if err := writeLines(w, lines); err != nil {
		return fmt.Errorf("fake driver: logs of %s: %w", id, err)
	}
	if !opts.Follow || exited {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case <-c.done:
	}
	d.mu.Lock()
	all := c.lines()
	d.mu.Unlock()
	if err := writeLines(w, all[len(all)-1:]); err != nil { // the "exited" line
		return fmt.Errorf("fake driver: logs of %s: %w", id, err)
	}
	return nil
}

// lines is what the run has written so far. d.mu must be held.
func (c *container) lines() []string {
	lines := []string{fmt.Sprintf("fake container %s started", c.name)}
	if c.output != "" {
		lines = append(lines, strings.Split(c.output, "\n")...)
	}
	if c.status.State == runtime.StateExited {
		lines = append(lines, fmt.Sprintf("fake container %s exited with code %d", c.name, c.status.ExitCode))
	}
	return lines
}

func writeLines(w io.Writer, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}
