package exec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// pollInterval is how often the driver looks at an adopted process, which
// is not its child and so cannot be waited for.
const pollInterval = 200 * time.Millisecond

// removingPrefix names a container directory being deleted by Remove.
const removingPrefix = ".removing-"

// adoptedExit is the Error of an adopted run that exited: only the parent
// learns the exit status, and the driver is no longer the parent.
const adoptedExit = "exit status unknown: process was adopted"

// Driver is the exec driver. Its zero value is not usable; call New.
type Driver struct {
	dir  string
	user *User // who runs the workloads; nil: the agent's own user

	mu         sync.Mutex
	containers map[string]*container // by ID; guarded by mu
}

var _ runtime.Driver = (*Driver)(nil)

// container is the driver's view of one run. Fields other than rec are
// fixed once it is made; rec is guarded by Driver.mu.
type container struct {
	dir     string        // dir/<id>
	adopted bool          // made by an earlier Driver: not our child, polled
	done    chan struct{} // closed once the run has exited
	rec     record
	// portLock reserves rec.Port on this host while the run lives; guarded
	// by Driver.mu, closed by finish. Nil when another agent took it.
	portLock *os.File
}

// Options configure an exec driver.
type Options struct {
	// User, when set, runs every workload and every command exec'd into it
	// as that user instead of the agent's own, which must then be root.
	// Runs made before keep the user they were started as.
	User *User
}

// New returns an exec driver keeping its containers under dir (made if
// missing, mode 0700). Runs that an earlier driver on the same dir started
// and that still run are adopted: listed as running, polled, stoppable.
// Workloads run as the agent's own user; see NewWithOptions.
func New(dir string) (*Driver, error) { return NewWithOptions(dir, Options{}) }

// NewWithOptions is New with options. With a User, dir becomes mode 0711
// (that user may pass through it to its runs' working directories, not
// list it), and every directory above dir must let that user search it.
// Every process the driver starts has no-new-privileges set (nnp.go).
func NewWithOptions(dir string, o Options) (*Driver, error) {
	if err := startSpawner(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("exec driver: directory is empty; pass the agent's data directory for exec containers")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("exec driver: directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("exec driver: create directory: %w; check the agent may write there", err)
	}
	if o.User != nil {
		if err := checkReach(abs, o.User); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("exec driver: read directory: %w", err)
	}
	d := &Driver{dir: abs, user: o.User, containers: make(map[string]*container)}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, removingPrefix) {
			os.RemoveAll(filepath.Join(abs, name)) // an interrupted Remove
			continue
		}
		if !e.IsDir() || checkID(name) != nil {
			continue
		}
		d.containers[name] = d.load(name)
	}
	return d, nil
}

// load adopts the container in directory id. A directory whose state
// cannot be read becomes an exited container saying why, so that the agent
// sees it and can remove it.
func (d *Driver) load(id string) *container {
	c := &container{dir: filepath.Join(d.dir, id), done: make(chan struct{})}
	rec, err := readRecord(c.dir)
	if err == nil && (rec.Spec.ID != id || rec.PID <= 1) {
		err = fmt.Errorf("state names container %q and PID %d", rec.Spec.ID, rec.PID)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("no state file (the agent stopped while starting it)")
		}
		c.rec = record{Spec: runtime.Spec{ID: id}, Exited: true, ExitCode: -1, FinishedAt: time.Now(),
			Error: fmt.Sprintf("cannot adopt: %v; remove the container", err)}
		close(c.done)
		return c
	}
	c.rec = rec
	if rec.Exited {
		close(c.done)
		return c
	}
	c.adopted = true
	// Best effort: the workload holds its port, so no other agent can
	// have it while it runs; the lock only tells them sooner.
	c.portLock, _ = reservePort(rec.Port)
	d.refresh(c)
	return c
}

// Name is "exec".
func (d *Driver) Name() string { return "exec" }

// Inspect returns the container's current status.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.get(id)
	if err != nil {
		return runtime.Status{}, err
	}
	d.refresh(c)
	return c.status(), nil
}

// List returns every container in the driver's directory, sorted by ID.
func (d *Driver) List(ctx context.Context) ([]runtime.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]runtime.Status, 0, len(d.containers))
	for _, c := range d.containers {
		d.refresh(c)
		out = append(out, c.status())
	}
	slices.SortFunc(out, func(a, b runtime.Status) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// get returns the container id. d.mu must be held.
func (d *Driver) get(id string) (*container, error) {
	c := d.containers[id]
	if c == nil {
		return nil, fmt.Errorf("exec driver: container %q: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

// refresh notices that an adopted run has exited. d.mu must be held.
func (d *Driver) refresh(c *container) {
	if c.adopted && !c.rec.Exited && !isAlive(c.rec.PID, c.rec.StartTime) {
		if hasStragglers(c.rec.PID, c.rec.StartTime) {
			_ = signalGroup(c.rec.PID, syscall.SIGKILL) // the leader is gone: end the rest
		}
		d.finish(c, -1, adoptedExit)
	}
}

// finish records that c's run exited, persists it and wakes its waiters.
// d.mu must be held (or c not yet shared).
func (d *Driver) finish(c *container, code int, reason string) {
	if c.rec.Exited {
		return
	}
	c.rec.Exited, c.rec.ExitCode, c.rec.Error, c.rec.FinishedAt = true, code, reason, time.Now()
	// A run that ended needs its secrets no more; the next start writes
	// them again.
	_ = removeSecrets(c.dir)
	// Nor its veths: the kernel deletes them with its network namespace,
	// but not always at once. Remove tries again.
	_ = deleteLinks(c.rec.Links)
	if c.portLock != nil {
		c.portLock.Close()
		c.portLock = nil
	}
	// Best effort: if this write fails, the next driver finds the process
	// gone and records the exit as unknown, which is still correct.
	_ = writeRecord(c.dir, c.rec)
	close(c.done)
}

// status is c's run as a runtime.Status. d.mu must be held.
func (c *container) status() runtime.Status {
	s := runtime.Status{
		ID:        c.rec.Spec.ID,
		State:     runtime.StateRunning,
		PID:       c.rec.PID,
		HostPort:  c.rec.Port,
		StartedAt: c.rec.StartedAt,
	}
	if c.rec.Exited {
		s.State, s.PID, s.ExitCode, s.FinishedAt, s.Error = runtime.StateExited, 0, c.rec.ExitCode, c.rec.FinishedAt, c.rec.Error
	}
	return s
}
