package fake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Environment variables that steer a fake container.
const (
	// EnvRunFor is a Go duration ("1.5s"): the container exits after it. When
	// unset, it runs until stopped.
	EnvRunFor = "WHARF_FAKE_RUN_FOR"
	// EnvExitCode is the code it exits with when EnvRunFor elapses (default 0).
	EnvExitCode = "WHARF_FAKE_EXIT_CODE"
	// EnvStartError makes Start fail with this message.
	EnvStartError = "WHARF_FAKE_START_ERROR"
	// EnvOutput holds lines (separated by "\n") that the container writes
	// after its "started" line.
	EnvOutput = "WHARF_FAKE_OUTPUT"
)

// Fake host ports are basePort + n % portSpan for the n-th run.
const (
	basePort = 30000
	portSpan = 30000
)

// stoppedReason is the Error of a stopped container, as the exec driver
// reports a process that SIGTERM ended.
const stoppedReason = "killed by signal 15 (terminated)"

// Driver is the fake driver. Its zero value is not usable; call New.
type Driver struct {
	mu         sync.Mutex
	containers map[string]*container   // guarded by mu
	runs       int                     // runs started, for fake ports; guarded by mu
	specs      map[string]runtime.Spec // each ID's last started Spec; guarded by mu
	// secrets are each container's secret files, by ID then target, kept
	// in memory only and forgotten on Remove; guarded by mu.
	secrets map[string]map[string]api.SecretFile
}

var _ runtime.Driver = (*Driver)(nil)

// container is one run. name, output and done are fixed; the rest is
// guarded by Driver.mu.
type container struct {
	name   string
	output string
	done   chan struct{} // closed when the run exits
	timer  *time.Timer   // ends the run when EnvRunFor is set
	status runtime.Status
}

// New returns an empty fake driver.
func New() *Driver {
	return &Driver{containers: make(map[string]*container), specs: make(map[string]runtime.Spec),
		secrets: make(map[string]map[string]api.SecretFile)}
}

// SecretFiles returns the secret files id's container has now (its last
// run's, until Remove), by target, so that tests can see what was
// delivered; nil when it has none.
func (d *Driver) SecretFiles(id string) map[string]api.SecretFile {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.secrets[id])
}

// LastSpec returns the Spec that id's last run started with (its mounts and
// labels included), even after Remove, so that tests can see what the
// agent asked for; ok is false if id never started.
func (d *Driver) LastSpec(id string) (spec runtime.Spec, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	spec, ok = d.specs[id]
	return spec, ok
}

// Name is "fake".
func (d *Driver) Name() string { return "fake" }

// Start starts a fake run of spec; see the Env constants.
func (d *Driver) Start(ctx context.Context, spec runtime.Spec) (runtime.Status, error) {
	if spec.ID == "" {
		return runtime.Status{}, errors.New("fake driver: start: spec.ID is empty")
	}
	if err := ctx.Err(); err != nil {
		return runtime.Status{}, fmt.Errorf("fake driver: start %s: %w", spec.ID, err)
	}
	runFor, code, err := parseEnv(spec.Env)
	if err != nil {
		return runtime.Status{}, fmt.Errorf("fake driver: start %s: %w", spec.ID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.containers[spec.ID]; old != nil && old.status.State == runtime.StateRunning {
		return old.status, nil
	}
	name := spec.Name
	if name == "" {
		name = spec.ID
	}
	c := &container{name: name, output: strings.TrimSuffix(spec.Env[EnvOutput], "\n"), done: make(chan struct{})}
	c.status = runtime.Status{
		ID:        spec.ID,
		State:     runtime.StateRunning,
		HostPort:  basePort + d.runs%portSpan,
		StartedAt: time.Now(),
	}
	files := make(map[string]api.SecretFile, len(spec.Secrets))
	for _, f := range spec.Secrets {
		if err := runtime.CheckSecretFile(f); err != nil {
			return runtime.Status{}, fmt.Errorf("fake driver: start %s: %w", spec.ID, err)
		}
		f.Data = slices.Clone(f.Data)
		files[f.Target] = f
	}
	d.runs++
	d.containers[spec.ID] = c
	delete(d.secrets, spec.ID)
	if len(files) > 0 {
		d.secrets[spec.ID] = files
	}
	spec.Secrets = nil // LastSpec outlives Remove: it keeps no values
	d.specs[spec.ID] = spec
	if runFor >= 0 {
		reason := ""
		if code != 0 {
			reason = fmt.Sprintf("exited with code %d", code)
		}
		c.timer = time.AfterFunc(runFor, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.exit(c, code, reason)
		})
	}
	return c.status, nil
}

// parseEnv reads the steering variables; runFor is -1 when unset.
func parseEnv(env map[string]string) (runFor time.Duration, code int, err error) {
	if msg, ok := env[EnvStartError]; ok {
		return 0, 0, errors.New(msg)
	}
	runFor = -1
	if s, ok := env[EnvRunFor]; ok {
		if runFor, err = time.ParseDuration(s); err != nil || runFor < 0 {
			return 0, 0, fmt.Errorf("%s=%q is not a non-negative Go duration such as \"1.5s\"", EnvRunFor, s)
		}
	}
	if s, ok := env[EnvExitCode]; ok {
		if code, err = strconv.Atoi(s); err != nil || code < 0 || code > 255 {
			return 0, 0, fmt.Errorf("%s=%q is not an exit code from 0 to 255", EnvExitCode, s)
		}
	}
	return runFor, code, nil
}

// exit ends c's run. d.mu must be held.
func (d *Driver) exit(c *container, code int, reason string) {
	if c.status.State == runtime.StateExited {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.status.State, c.status.ExitCode, c.status.Error, c.status.FinishedAt = runtime.StateExited, code, reason, time.Now()
	close(c.done)
}

// get returns the container id. d.mu must be held.
func (d *Driver) get(id string) (*container, error) {
	c := d.containers[id]
	if c == nil {
		return nil, fmt.Errorf("fake driver: container %q: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

// Wait blocks until the run exits or ctx ends.
func (d *Driver) Wait(ctx context.Context, id string) (runtime.Status, error) {
	d.mu.Lock()
	c, err := d.get(id)
	d.mu.Unlock()
	if err != nil {
		return runtime.Status{}, err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		err = fmt.Errorf("fake driver: wait for %s: %w", id, ctx.Err())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return c.status, err
}

// Stop ends the run at once, as a process that exits on SIGTERM (code 143).
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.get(id)
	if err != nil {
		return err
	}
	d.exit(c, 143, stoppedReason)
	return nil
}

// Remove stops the container and forgets it.
func (d *Driver) Remove(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.get(id)
	if err != nil {
		return err
	}
	d.exit(c, 143, stoppedReason)
	delete(d.containers, id)
	delete(d.secrets, id)
	return nil
}

// Inspect returns the container's status.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.get(id)
	if err != nil {
		return runtime.Status{}, err
	}
	return c.status, nil
}

// List returns every container, sorted by ID.
func (d *Driver) List(ctx context.Context) ([]runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]runtime.Status, 0, len(d.containers))
	for _, c := range d.containers {
		out = append(out, c.status)
	}
	slices.SortFunc(out, func(a, b runtime.Status) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
