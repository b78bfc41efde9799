package gateway_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// memDriver is an in-memory runtime driver for the cluster tests: every
// start prints one line and then "runs" until stopped or crashed.
type memDriver struct {
	mu     sync.Mutex
	runs   map[string]*memRun
	pid    int
	starts map[string]int // starts per container
}

type memRun struct {
	st   runtime.Status
	exit chan struct{} // closed when the run ends
	logs []byte
	more chan struct{} // closed and replaced on every log write
}

func newMemDriver() *memDriver {
	return &memDriver{runs: map[string]*memRun{}, pid: 1000, starts: map[string]int{}}
}

func (d *memDriver) Name() string { return "fake" }

func (d *memDriver) Start(_ context.Context, spec runtime.Spec) (runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.runs[spec.ID]
	if r != nil && r.st.State == runtime.StateRunning {
		return r.st, nil
	}
	if r == nil {
		r = &memRun{more: make(chan struct{})}
		d.runs[spec.ID] = r
	}
	d.pid++
	d.starts[spec.ID]++
	r.st = runtime.Status{ID: spec.ID, State: runtime.StateRunning, PID: d.pid, HostPort: 20000 + d.pid, StartedAt: time.Now().UTC()}
	r.exit = make(chan struct{})
	d.logLocked(r, fmt.Sprintf("hi from %s on %s\n", spec.Name, spec.Node))
	return r.st, nil
}

func (d *memDriver) logLocked(r *memRun, line string) {
	r.logs = append(r.logs, line...)
	close(r.more)
	r.more = make(chan struct{})
}

func (d *memDriver) Wait(ctx context.Context, id string) (runtime.Status, error) {
	d.mu.Lock()
	r := d.runs[id]
	if r == nil {
		d.mu.Unlock()
		return runtime.Status{}, runtime.ErrNotFound
	}
	exit := r.exit
	d.mu.Unlock()
	select {
	case <-exit:
	case <-ctx.Done():
		return runtime.Status{}, ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return r.st, nil
}

// end finishes a run with an exit code.
func (d *memDriver) end(id string, code int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.runs[id]
	if r == nil {
		return runtime.ErrNotFound
	}
	if r.st.State == runtime.StateRunning {
		r.st.State, r.st.ExitCode, r.st.FinishedAt = runtime.StateExited, code, time.Now().UTC()
		close(r.exit)
	}
	return nil
}

func (d *memDriver) Stop(_ context.Context, id string, _ time.Duration) error { return d.end(id, 143) }

func (d *memDriver) Remove(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.runs[id]
	if r == nil {
		return runtime.ErrNotFound
	}
	if r.st.State == runtime.StateRunning {
		return fmt.Errorf("container %s is running", id)
	}
	delete(d.runs, id)
	return nil
}

func (d *memDriver) Inspect(_ context.Context, id string) (runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.runs[id]
	if r == nil {
		return runtime.Status{}, runtime.ErrNotFound
	}
	return r.st, nil
}

func (d *memDriver) List(context.Context) ([]runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []runtime.Status
	for _, r := range d.runs {
		out = append(out, r.st)
	}
	return out, nil
}

func (d *memDriver) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	sent := 0
	for {
		d.mu.Lock()
		r := d.runs[id]
		if r == nil {
			d.mu.Unlock()
			return runtime.ErrNotFound
		}
		chunk := append([]byte(nil), r.logs[sent:]...)
		sent = len(r.logs)
		running := r.st.State == runtime.StateRunning
		more, exit := r.more, r.exit
		d.mu.Unlock()
		if len(chunk) > 0 {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		if !opts.Follow || !running {
			return nil
		}
		select {
		case <-more:
		case <-exit:
		case <-ctx.Done():
			return nil
		}
	}
}

// log appends a line to a container's output.
func (d *memDriver) log(id, line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.runs[id]; r != nil {
		d.logLocked(r, line)
	}
}

func (d *memDriver) startCount(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.starts[id]
}

func (d *memDriver) running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, r := range d.runs {
		if r.st.State == runtime.StateRunning {
			n++
		}
	}
	return n
}
