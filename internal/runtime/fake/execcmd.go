package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/runtime"
)

var _ runtime.Execer = (*Driver)(nil)

// Exec echoes cmd, its words joined by spaces, as one line and exits 0;
// "exit N" prints nothing and exits N. The container must be running.
func (d *Driver) Exec(ctx context.Context, id string, cmd []string, w io.Writer) (int, error) {
	if len(cmd) == 0 {
		return -1, errors.New("fake driver: exec: no command given")
	}
	d.mu.Lock()
	c, err := d.get(id)
	running := err == nil && c.status.State == runtime.StateRunning
	d.mu.Unlock()
	switch {
	case err != nil:
		return -1, err
	case !running:
		return -1, fmt.Errorf("fake driver: exec in %s: %w; start it first", id, runtime.ErrNotRunning)
	case ctx.Err() != nil:
		return -1, ctx.Err()
	}
	if len(cmd) == 2 && cmd[0] == "exit" {
		if code, err := strconv.Atoi(cmd[1]); err == nil {
			return code, nil
		}
	}
	_, err = io.WriteString(w, strings.Join(cmd, " ")+"\n")
	return 0, err
}
