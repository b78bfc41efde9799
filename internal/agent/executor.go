package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/lifecycle"
	"github.com/wharfhq/wharf/internal/runtime"
)

const (
	stopTimeout    = 10 * time.Second
	restartMin     = time.Second
	restartMax     = 30 * time.Second
	stopRetryAfter = 5 * time.Second
)

// executor converges the node's containers on the latest assignments. One
// loop decides; each container's start, stop or removal runs in its own
// goroutine, so a slow stop never holds up the others, and at most one
// operation per container is in flight.
type executor struct {
	a    *Agent
	ctx  context.Context // the agent's; set by adopt
	wake chan struct{}
	wg   sync.WaitGroup // operations and waiters

	mu   sync.Mutex
	asg  *api.Assignments         // latest; nil until the first arrives
	ctrs map[string]*ctr          // containers this agent runs or ran
	done map[string]struct{}      // removed and reported Terminated
	want map[string]api.Container // from asg, by ID
	// cutSince: when the session to the server was lost (zero while up).
	cutSince time.Time
	cutTimer *time.Timer
	// fenced: the agent fenced (fence.go) and has not heard the server's
	// assignments since; its FenceOnLoss containers stay stopped.
	fenced bool
}

// ctr is the agent's record of one container.
type ctr struct {
	id       string
	spec     api.Container // as last assigned
	drv      runtime.Driver
	status   api.ContainerStatus // as last reported
	running  bool                // a run is live and a waiter watches it
	waitDone chan struct{}       // closed when the current run's waiter ends
	busy     bool                // an operation is in flight
	stopping bool                // stopped on purpose: do not restart
	// healthRun is the waitDone of the run a health checker watches.
	healthRun chan struct{}

	// exited: the last run ended and the restart policy left it stopped;
	// cutOff: stopped because the server was away too long (see
	// stopAfterDisconnect); neither is started again until told.
	exited bool
	cutOff bool
	// refused: the node's policy refused its start (binds.go); it is not
	// tried again until desired stopped and running again, or the agent
	// restarts (with other flags, maybe).
	refused bool
	// adoptedExit: found exited at adoption; the first assignment decides.
	adoptedExit bool
	// probeHost is where an HTTP health check connects: 127.0.0.1, or the
	// container's overlay address for a process in a namespace of its own.
	probeHost string

	restarts int
	// run numbers k's runs (api.ContainerStatus.Run): raised at every
	// start, never below the stored run the assignments carry.
	run        int
	backoff    time.Duration
	restartAt  time.Time // a restart is due then (zero: none pending)
	restartDue bool      // the next start is an automatic restart
	timer      *time.Timer
}

func newExecutor(a *Agent) *executor {
	return &executor{a: a, ctx: context.Background(), wake: make(chan struct{}, 1),
		ctrs: map[string]*ctr{}, done: map[string]struct{}{}, want: map[string]api.Container{}, cutSince: time.Now()}
}

// adopt takes over every container the drivers already run or keep: they
// are reported as they are and left running.
func (e *executor) adopt(ctx context.Context) {
	e.ctx = ctx
	for _, d := range e.a.cfg.Drivers {
		list, err := d.List(ctx)
		if err != nil {
			e.a.log.Warn("list containers of driver", "driver", d.Name(), "err", err)
			continue
		}
		e.mu.Lock()
		for _, st := range list {
			if _, dup := e.ctrs[st.ID]; dup {
				continue
			}
			k := &ctr{id: st.ID, drv: d, backoff: restartMin}
			e.ctrs[st.ID] = k
			if st.State == runtime.StateRunning {
				e.setStatus(k, api.ContainerStatus{State: api.ContainerRunning, PID: st.PID, HostPort: st.HostPort, Ports: st.Ports, DriverID: st.DriverID, StartedAt: st.StartedAt})
				e.watch(k, d)
			} else {
				// Not reported yet: the server's own view of it, in the
				// first assignments, decides whether it runs again.
				k.status, k.adoptedExit = exitedStatus(st, k), true
			}
		}
		e.mu.Unlock()
		if len(list) > 0 {
			e.a.log.Info("adopted containers", "driver", d.Name(), "count", len(list))
		}
	}
}

// fullSet is the set asg stands for: asg when it is full; for a delta
// (api.Assignments.Delta), its containers and those it keeps from the set
// last stored by setAssignments, sorted by ID as a full set is. A kept
// container that set lacks is a conflict: acting on part of the set would
// stop the rest, so the caller changes nothing and the gateway sends the
// full set.
func (e *executor) fullSet(asg *api.Assignments) (*api.Assignments, error) {
	if !asg.Delta {
		return asg, nil
	}
	full := *asg
	full.Delta, full.Kept = false, nil
	full.Containers = make([]api.Container, 0, len(asg.Containers)+len(asg.Kept))
	full.Containers = append(full.Containers, asg.Containers...)
	e.mu.Lock()
	for _, id := range asg.Kept {
		c, ok := e.want[id]
		if !ok {
			e.mu.Unlock()
			return nil, errdefs.New(errdefs.ErrConflict, fmt.Sprintf(
				"the assignments of revision %d keep container %s, which this agent does not have: send the full set", asg.Revision, id))
		}
		full.Containers = append(full.Containers, c)
	}
	e.mu.Unlock()
	slices.SortFunc(full.Containers, func(x, y api.Container) int { return strings.Compare(x.ID, y.ID) })
	return &full, nil
}

// setAssignments stores the latest set and wakes the loop; it never blocks.
func (e *executor) setAssignments(asg *api.Assignments) {
	e.mu.Lock()
	e.asg = asg
	e.want = make(map[string]api.Container, len(asg.Containers))
	for _, c := range asg.Containers {
		e.want[c.ID] = c
	}
	// The server has spoken again: what it still wants running may run,
	// and the session is up (assignments may come before the hello returns).
	for _, k := range e.ctrs {
		k.cutOff = false
	}
	e.fenced = false
	e.cutSince = time.Time{}
	if e.cutTimer != nil {
		e.cutTimer.Stop()
	}
	e.mu.Unlock()
	e.signal()
}

func (e *executor) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// run converges on every wake-up until ctx ends, then waits for the
// operations in flight.
func (e *executor) run(ctx context.Context) {
	defer e.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			e.mu.Lock()
			for _, k := range e.ctrs {
				if k.timer != nil {
					k.timer.Stop()
				}
			}
			if e.cutTimer != nil {
				e.cutTimer.Stop()
			}
			e.mu.Unlock()
			return
		case <-e.wake:
			e.converge()
		}
	}
}

// converge starts one operation for each container that is not as wanted.
func (e *executor) converge() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.asg == nil || e.ctx.Err() != nil {
		return // nothing is touched before the server has spoken
	}
	now := time.Now()
	for id, c := range e.want {
		k := e.ctrs[id]
		if k != nil {
			k.run = max(k.run, c.Status.Run)
		}
		switch c.Spec.Desired {
		case api.ContainerTerminated:
			if k == nil {
				if _, done := e.done[id]; !done && c.Status.State != api.ContainerTerminated {
					e.done[id] = struct{}{}
					e.a.rep.set(id, api.ContainerStatus{State: api.ContainerTerminated, RestartCount: c.Status.RestartCount, Run: c.Status.Run})
				}
				continue
			}
			k.spec = c
			if !k.busy {
				e.terminate(k)
			}
		case api.ContainerStopped:
			if k == nil {
				k = &ctr{id: id, spec: c, backoff: restartMin, restarts: c.Status.RestartCount, run: c.Status.Run}
				e.ctrs[id] = k
				if c.Status.State != api.ContainerStopped {
					e.setStatus(k, api.ContainerStatus{State: api.ContainerStopped, RestartCount: k.restarts,
						ExitCode: c.Status.ExitCode, StartedAt: c.Status.StartedAt, FinishedAt: c.Status.FinishedAt})
				} else {
					k.status = c.Status
				}
				continue
			}
			k.spec = c
			k.exited, k.refused = false, false // started again when desired Running again
			if k.adoptedExit {
				k.adoptedExit = false
				e.setStatus(k, k.status)
			}
			e.cancelRestart(k)
			if !k.busy && k.running && !k.stopping {
				e.stop(k, stopTimeout)
			}
		default: // Running
			delete(e.done, id)
			if k == nil || k.adoptedExit {
				if k == nil {
					k = &ctr{id: id, backoff: restartMin, run: c.Status.Run}
					e.ctrs[id] = k
				}
				// An exit some agent saw and reported is final under its
				// policy; one that happened while no agent watched (the
				// agent stopped it on exit, the host went down) is resumed.
				if c.Status.State == api.ContainerStopped && lifecycle.OwnExit(c.Status) {
					if !k.adoptedExit {
						k.status = c.Status
					}
					k.exited = true
					e.setStatus(k, k.status)
				}
				k.adoptedExit = false
			}
			k.spec = c
			k.restarts = max(k.restarts, c.Status.RestartCount)
			e.watchHealth(k)
			if k.busy || k.running || k.cutOff || k.refused || now.Before(k.restartAt) {
				continue
			}
			if k.exited {
				if !lifecycle.RestartWanted(c.Spec.Autorestart, exitCode(k.status)) {
					continue
				}
				k.exited, k.restartDue = false, true
			}
			e.start(k)
		}
	}
	e.stopDisconnected(now)
	e.stopFenced()
	for id, k := range e.ctrs {
		if _, ok := e.want[id]; !ok && !k.busy {
			e.terminate(k) // an orphan: no longer assigned here
		}
	}
	for id := range e.done {
		if _, ok := e.want[id]; !ok {
			delete(e.done, id)
		}
	}
}

// start runs k; e.mu is held.
func (e *executor) start(k *ctr) {
	k.busy, k.stopping = true, false
	k.run++
	if k.restartDue {
		k.restarts++
		k.restartDue = false
	}
	k.restartAt = time.Time{}
	spec := e.toSpec(k.spec)
	spec.PullProgress = e.pullProgress(k, k.run)
	secretsErr := secretsDelivered(k.spec, spec)
	drv, derr := e.pick(k)
	atts := k.spec.Spec.Networks // read under e.mu, used by the goroutine
	e.setStatus(k, api.ContainerStatus{State: api.ContainerStarting, RestartCount: k.restarts})
	e.wg.Go(func() {
		defer e.opDone(k)
		var st runtime.Status
		err := derr
		if err == nil {
			err = e.a.binds.check(spec.Mounts) // the node's decision, before any driver
		}
		if err == nil {
			err = e.a.checkNetworkMode(drv, spec.NetworkMode)
		}
		if err == nil {
			err = secretsErr
		}
		if err == nil && e.a.net != nil {
			spec.Networks, err = e.a.net.attach(atts)
		}
		if err == nil {
			st, err = drv.Start(e.ctx, spec)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			if e.ctx.Err() != nil {
				return
			}
			e.a.log.Warn("container failed to start", "container", spec.Name, "id", k.id, "err", err)
			e.setStatus(k, api.ContainerStatus{State: api.ContainerStopped, Reason: "start failed: " + err.Error(),
				FinishedAt: time.Now().UTC(), RestartCount: k.restarts})
			// A refusal stands until the agent runs with other flags:
			// retrying would only repeat it.
			switch {
			case errors.Is(err, errRefused):
				k.refused = true
			case lifecycle.RestartWanted(k.spec.Spec.Autorestart, -1):
				e.scheduleRestart(k)
			default:
				k.exited = true
			}
			return
		}
		k.drv = drv
		k.probeHost = probeHost(drv, spec)
		e.setStatus(k, api.ContainerStatus{State: api.ContainerRunning, PID: st.PID, HostPort: st.HostPort, Ports: st.Ports, DriverID: st.DriverID,
			StartedAt: st.StartedAt, RestartCount: k.restarts})
		e.a.log.Info("container started", "container", spec.Name, "id", k.id, "pid", st.PID, "restarts", k.restarts)
		e.watch(k, drv)
	})
}

// watch starts the waiter of k's current run; e.mu is held.
func (e *executor) watch(k *ctr, drv runtime.Driver) {
	done := make(chan struct{})
	k.running, k.waitDone = true, done
	e.wg.Go(func() {
		defer close(done)
		st, err := drv.Wait(e.ctx, k.id)
		if e.ctx.Err() != nil {
			return
		}
		if err != nil {
			st = runtime.Status{ID: k.id, State: runtime.StateExited, ExitCode: -1, FinishedAt: time.Now().UTC(), Error: err.Error()}
		}
		e.mu.Lock()
		k.running = false
		e.setStatus(k, exitedStatus(st, k))
		desired := k.spec.Spec.Desired
		if !k.stopping && (desired == api.ContainerRunning || desired == "") {
			_, assigned := e.want[k.id]
			switch {
			case !assigned:
			case !lifecycle.RestartWanted(k.spec.Spec.Autorestart, st.ExitCode):
				k.exited = true
				e.a.log.Info("container exited; its autorestart policy leaves it stopped", "container", k.spec.Name, "id", k.id,
					"exit_code", st.ExitCode, "autorestart", policyName(k.spec.Spec.Autorestart))
			default:
				e.a.log.Warn("container exited; restarting", "container", k.spec.Name, "id", k.id, "exit_code", st.ExitCode, "in", k.backoff)
				if !st.StartedAt.IsZero() && st.FinishedAt.Sub(st.StartedAt) > restartMax {
					k.backoff = restartMin // it ran fine for a while
				}
				k.restartDue = true
				e.scheduleRestart(k)
			}
		}
		e.mu.Unlock()
		e.signal()
	})
}

// scheduleRestart sets k's next start after its backoff; e.mu is held.
func (e *executor) scheduleRestart(k *ctr) {
	d := k.backoff
	k.backoff = min(k.backoff*2, restartMax)
	k.restartAt = time.Now().Add(d)
	if k.timer != nil {
		k.timer.Stop()
	}
	k.timer = time.AfterFunc(d, e.signal)
}

func (e *executor) cancelRestart(k *ctr) {
	if k.timer != nil {
		k.timer.Stop()
	}
	k.restartAt, k.restartDue = time.Time{}, false
}

// stop stops k on purpose, killing it after timeout; e.mu is held.
func (e *executor) stop(k *ctr, timeout time.Duration) {
	k.busy, k.stopping = true, true
	st := k.status
	st.State = api.ContainerStopping
	e.setStatus(k, st)
	drv, done, drain := k.drv, k.waitDone, k.spec.Spec.RouteDrainMS
	e.wg.Go(func() {
		defer e.opDone(k)
		if timeout >= stopTimeout {
			e.drainRoutes(drain) // a fence does not wait for the routers
		}
		err := drv.Stop(e.ctx, k.id, timeout)
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			if e.ctx.Err() != nil {
				return
			}
			e.a.log.Warn("container did not stop; will retry", "id", k.id, "err", err)
			e.mu.Lock()
			k.stopping = false
			e.mu.Unlock()
			time.AfterFunc(stopRetryAfter, e.signal)
			return
		}
		e.awaitExit(done)
	})
}

// terminate stops and removes k, reports it Terminated and forgets it;
// e.mu is held.
func (e *executor) terminate(k *ctr) {
	k.busy, k.stopping = true, true
	e.cancelRestart(k)
	if k.running {
		st := k.status
		st.State = api.ContainerStopping
		e.setStatus(k, st)
	}
	drv, running, done, drain := k.drv, k.running, k.waitDone, k.spec.Spec.RouteDrainMS
	e.wg.Go(func() {
		defer e.signal()
		if drv != nil {
			if running {
				e.drainRoutes(drain)
				if err := drv.Stop(e.ctx, k.id, stopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) && e.ctx.Err() == nil {
					e.a.log.Warn("stop before removal", "id", k.id, "err", err)
				}
				e.awaitExit(done)
			}
			if e.ctx.Err() != nil {
				e.opDone(k)
				return
			}
			if err := drv.Remove(e.ctx, k.id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				e.a.log.Warn("remove container; will retry", "id", k.id, "err", err)
				e.opDone(k)
				time.AfterFunc(stopRetryAfter, e.signal)
				return
			}
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		st := k.status
		st.State = api.ContainerTerminated
		st.PID, st.HostPort = 0, 0
		e.setStatus(k, st)
		delete(e.ctrs, k.id)
		if _, ok := e.want[k.id]; ok {
			e.done[k.id] = struct{}{}
		}
		e.a.log.Info("container removed", "id", k.id)
	})
}

// drainRoutes holds a routed container's stop for ms milliseconds
// (api.ContainerSpec.RouteDrainMS): its desired state has left Running,
// so the routers drop it from their tables meanwhile, and no new request
// reaches it once it stops. The agent's own end cuts the wait short.
func (e *executor) drainRoutes(ms int) {
	if ms <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(min(ms, maxRouteDrainMS)) * time.Millisecond)
	defer t.Stop()
	select {
	case <-e.ctx.Done():
	case <-t.C:
	}
}

// maxRouteDrainMS bounds a drain whatever the spec says.
const maxRouteDrainMS = 60_000

// awaitExit waits for a run's waiter to see the exit.
func (e *executor) awaitExit(done chan struct{}) {
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-e.ctx.Done():
	case <-time.After(stopTimeout + 5*time.Second):
	}
}

func (e *executor) opDone(k *ctr) {
	e.mu.Lock()
	k.busy = false
	e.mu.Unlock()
	e.signal()
}

// setStatus records and reports k's status; e.mu is held.
func (e *executor) setStatus(k *ctr, st api.ContainerStatus) {
	st.RestartCount = max(st.RestartCount, k.restarts)
	st.Run = k.run
	k.status = st
	e.a.rep.set(k.id, st)
}

func exitedStatus(st runtime.Status, k *ctr) api.ContainerStatus {
	code := st.ExitCode
	fin := st.FinishedAt
	if fin.IsZero() {
		fin = time.Now().UTC()
	}
	return api.ContainerStatus{State: api.ContainerStopped, ExitCode: &code, Reason: st.Error,
		StartedAt: st.StartedAt, FinishedAt: fin, RestartCount: k.restarts}
}

// toSpec is what the driver runs for c. Everything that shapes the run
// belongs here, volumes and labels included: the agent never compares
// specs itself, but the docker driver hashes the whole Spec to tell a
// re-run of the same spec from a changed one.
func (e *executor) toSpec(c api.Container) runtime.Spec {
	name := c.Name
	if name == "" {
		name = c.ID
	}
	spec := runtime.Spec{ID: c.ID, Name: name, Service: c.Spec.Service, Slot: c.Spec.Slot, Node: e.a.NodeID(),
		Image: c.Spec.Image, Command: c.Spec.Command, Entrypoint: c.Spec.Entrypoint, Env: c.Spec.Env,
		Ports: c.Spec.Ports, Resources: c.Spec.Resources, Mounts: c.Spec.Volumes, Labels: c.Spec.Labels,
		NetworkMode: c.Spec.NetworkMode, Expose: c.Spec.Expose, PublishAll: c.Spec.PublishAll,
		TTY: c.Spec.TTY, Interactive: c.Spec.Interactive}
	if e.asg != nil && len(c.Spec.Secrets) > 0 {
		spec.Secrets = e.asg.Secrets[c.ID]
		spec.SecretsVersion = runtime.SecretsVersion(spec.Secrets)
	}
	if c.Spec.PullPolicy != "" && c.Spec.PullPolicy != api.PullMissing {
		// missing is the default: left out, so that the spec (and its
		// hash) of a container made before pull policies is unchanged.
		spec.PullPolicy = c.Spec.PullPolicy
	}
	spec.RegistryAuth = e.registryAuth(c.Spec.Image)
	return spec
}

// registryAuth is the credential the server sent for image's registry,
// if any; e.mu is held. It is kept in memory only.
func (e *executor) registryAuth(image string) *api.RegistryAuth {
	if e.asg == nil || image == "" {
		return nil
	}
	host := api.RegistryHost(image)
	for h, a := range e.asg.RegistryAuths {
		if api.NormalizeRegistryHost(h) == host {
			return &a
		}
	}
	return nil
}

// pullReportEvery is the shortest interval between two progress reports
// of one container's pull: progress rides the status reports, which are
// batched, and a store write per progress line would be waste.
const pullReportEvery = time.Second

// pullProgress is the callback that reports run's pull progress as k's
// status (Starting, with Pulling set), at most once per pullReportEvery
// and only while that run is still starting.
func (e *executor) pullProgress(k *ctr, run int) func(int) {
	var mu sync.Mutex
	var last time.Time
	sent := -1
	return func(p int) {
		mu.Lock()
		if p == sent || (p < 100 && time.Since(last) < pullReportEvery) {
			mu.Unlock()
			return
		}
		sent, last = p, time.Now()
		mu.Unlock()
		e.mu.Lock()
		defer e.mu.Unlock()
		if k.run != run || !k.busy || k.status.State != api.ContainerStarting {
			return
		}
		st := k.status
		st.Pulling = &p
		e.setStatus(k, st)
	}
}

// secretsDelivered is nil when the server sent every secret file c uses.
func secretsDelivered(c api.Container, spec runtime.Spec) error {
	have := make(map[string]bool, len(spec.Secrets))
	for _, f := range spec.Secrets {
		if err := runtime.CheckSecretFile(f); err != nil {
			return err
		}
		have[f.Target] = true
	}
	for _, ref := range c.Spec.Secrets {
		if !have[ref.FileName()] {
			return fmt.Errorf("the server did not send secret %s (file %s): it may have been removed, the server cannot open it, or this node's containers use more secrets than one push carries; see the server's log", ref.Source, ref.FileName())
		}
	}
	return nil
}

// pick chooses k's driver: the one it already runs on, else the one its
// spec names or needs ("docker" for an image, "exec" for a bare command),
// or a lone "fake" driver.
func (e *executor) pick(k *ctr) (runtime.Driver, error) {
	if k.drv != nil {
		return k.drv, nil
	}
	want := k.spec.Spec.Driver
	if want == "" {
		want = "exec"
		if k.spec.Spec.Image != "" {
			want = "docker"
		}
	}
	for _, d := range e.a.cfg.Drivers {
		if d.Name() == want {
			return d, nil
		}
	}
	if ds := e.a.cfg.Drivers; len(ds) == 1 && ds[0].Name() == "fake" {
		return ds[0], nil
	}
	return nil, fmt.Errorf("this node has no %q driver", want)
}

// driverOf finds the driver that knows container id, or nil.
func (e *executor) driverOf(ctx context.Context, id string) runtime.Driver {
	e.mu.Lock()
	k := e.ctrs[id]
	var d runtime.Driver
	if k != nil {
		d = k.drv
	}
	e.mu.Unlock()
	if d != nil {
		return d
	}
	for _, d := range e.a.cfg.Drivers {
		if _, err := d.Inspect(ctx, id); err == nil {
			return d
		}
	}
	return nil
}

// stopAll stops every running container of every driver; used when the
// agent exits with StopContainersOnExit.
func (e *executor) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout+10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, d := range e.a.cfg.Drivers {
		list, err := d.List(ctx)
		if err != nil {
			e.a.log.Warn("list containers to stop", "driver", d.Name(), "err", err)
			continue
		}
		for _, st := range list {
			if st.State != runtime.StateRunning {
				continue
			}
			wg.Go(func() {
				if err := d.Stop(ctx, st.ID, stopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
					e.a.log.Warn("stop container on exit", "id", st.ID, "err", err)
				}
			})
		}
	}
	wg.Wait()
}

// probeHost is where an HTTP health check of a run connects: the
// container's overlay address when the exec driver runs it in a network
// namespace of its own (its port is not on the host's loopback); the
// address its first port is published on, when that is one address (-p
// 10.0.0.5:8080:80); else 127.0.0.1 (a port published on every address).
func probeHost(drv runtime.Driver, spec runtime.Spec) string {
	if drv.Name() == "exec" && len(spec.Networks) > 0 {
		return spec.Networks[0].Address.Addr().String()
	}
	if len(spec.Ports) > 0 {
		if ip, err := netip.ParseAddr(spec.Ports[0].HostIP); err == nil && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	return "127.0.0.1"
}
