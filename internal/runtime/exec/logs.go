package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// logPollInterval is how often a follower looks for new output.
const logPollInterval = 100 * time.Millisecond

// tailChunk is how much of the log tailOffset reads at a time.
const tailChunk = 32 << 10

// Logs copies dir/<id>/output.log to w; see runtime.LogOptions.
func (d *Driver) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	d.mu.Lock()
	c, err := d.get(id)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(c.dir, logFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never started (see load), or removed meanwhile
	}
	if err != nil {
		return fmt.Errorf("exec driver: logs of %s: %w", id, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("exec driver: logs of %s: %w", id, err)
	}
	var start int64
	if opts.Tail > 0 {
		if start, err = tailOffset(f, fi.Size(), opts.Tail, tailChunk); err != nil {
			return fmt.Errorf("exec driver: logs of %s: %w", id, err)
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("exec driver: logs of %s: %w", id, err)
	}
	if !opts.Follow {
		if _, err := io.Copy(w, io.LimitReader(f, fi.Size()-start)); err != nil {
			return fmt.Errorf("exec driver: logs of %s: %w", id, err)
		}
		return nil
	}
	tick := time.NewTicker(logPollInterval)
	defer tick.Stop()
	for {
		// Look before reading: output written before the exit is then
		// surely in the file when we read it.
		exited := d.exited(c)
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("exec driver: logs of %s: %w", id, err)
		}
		if exited {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// exited reports whether c's run has exited.
func (d *Driver) exited(c *container) bool {
	select {
	case <-c.done:
		return true
	default:
	}
	if c.adopted {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.refresh(c)
		return c.rec.Exited
	}
	return false
}

// tailOffset returns the offset in r (of size bytes) where its last n lines
// begin. A final newline ends the last line; it does not begin another.
func tailOffset(r io.ReaderAt, size int64, n, chunk int) (int64, error) {
	buf := make([]byte, chunk)
	lines := 0
	for end := size; end > 0; {
		begin := max(end-int64(chunk), 0)
		b := buf[:end-begin]
		if _, err := r.ReadAt(b, begin); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read log: %w", err)
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' || begin+int64(i) == size-1 {
				continue
			}
			if lines++; lines == n {
				return begin + int64(i) + 1, nil
			}
		}
		end = begin
	}
	return 0, nil
}
