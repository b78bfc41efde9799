package exec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// removeStopTimeout is how long Remove lets a running container stop
// gracefully before killing it.
const removeStopTimeout = 2 * time.Second

// Wait blocks until the run exits or ctx ends.
func (d *Driver) Wait(ctx context.Context, id string) (runtime.Status, error) {
	d.mu.Lock()
	c, err := d.get(id)
	d.mu.Unlock()
	if err != nil {
		return runtime.Status{}, err
	}
	_, err = d.awaitExit(ctx, c, nil)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		return c.status(), fmt.Errorf("exec driver: wait for %s: %w", id, err)
	}
	return c.status(), nil
}

// Stop sends SIGTERM to the run's process group, SIGKILL after timeout,
// and returns once the main process is gone (whatever is left of its group
// is killed then too).
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	d.mu.Lock()
	c, err := d.get(id)
	if err == nil {
		err = d.signal(c, syscall.SIGTERM)
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	exited, err := d.awaitExit(ctx, c, timer.C)
	if err == nil && !exited {
		d.mu.Lock()
		err = d.signal(c, syscall.SIGKILL)
		d.mu.Unlock()
		if err == nil {
			_, err = d.awaitExit(ctx, c, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("exec driver: stop %s: %w", id, err)
	}
	return nil
}

// signal sends sig to c's process group unless the run has exited; for an
// adopted run, refresh has just proved that the PID is still the process
// we started. d.mu must be held.
func (d *Driver) signal(c *container, sig syscall.Signal) error {
	d.refresh(c)
	if c.rec.Exited {
		return nil
	}
	return signalGroup(c.rec.PID, sig)
}

// awaitExit waits until c's run exits (true), timeout fires (false) or ctx
// ends (its error). Adopted runs are polled.
func (d *Driver) awaitExit(ctx context.Context, c *container, timeout <-chan time.Time) (bool, error) {
	var tick <-chan time.Time
	if c.adopted {
		t := time.NewTicker(pollInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.done:
			return true, nil
		case <-tick:
			d.mu.Lock()
			d.refresh(c)
			d.mu.Unlock()
		case <-timeout:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// Remove stops the container if it runs, then deletes its directory.
func (d *Driver) Remove(ctx context.Context, id string) error {
	d.mu.Lock()
	c, err := d.get(id)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if err := d.Stop(ctx, id, removeStopTimeout); err != nil {
		return fmt.Errorf("exec driver: remove %s: %w", id, err)
	}
	d.mu.Lock()
	if d.containers[id] != c {
		d.mu.Unlock()
		return fmt.Errorf("exec driver: remove %s: it was started again or removed meanwhile; look again and retry", id)
	}
	// The run has exited, and its veths went with it or just now in
	// finish; whatever is left (a failed delete) goes now.
	if err := deleteLinks(c.rec.Links); err != nil {
		d.mu.Unlock()
		return fmt.Errorf("exec driver: remove %s: %w", id, err)
	}
	// Move the directory out of the way under the lock, delete it outside.
	tomb := filepath.Join(d.dir, fmt.Sprintf("%s%s-%d", removingPrefix, id, time.Now().UnixNano()))
	if err := os.Rename(c.dir, tomb); err != nil && !os.IsNotExist(err) {
		d.mu.Unlock()
		return fmt.Errorf("exec driver: remove %s: %w; check the agent may write its data directory", id, err)
	}
	delete(d.containers, id)
	d.mu.Unlock()
	if err := os.RemoveAll(tomb); err != nil {
		return fmt.Errorf("exec driver: remove %s: delete %s: %w", id, tomb, err)
	}
	return nil
}
