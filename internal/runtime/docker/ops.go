package docker

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/runtime"
)

// removeStopTimeout is how long Remove lets a running container stop
// before it is killed.
const removeStopTimeout = 2 * time.Second

// Inspect returns the status of id's current run.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Status, error) {
	in, err := d.find(ctx, id)
	if err != nil {
		return runtime.Status{}, err
	}
	return status(in), nil
}

// List returns every container the driver made on this node, whichever
// Driver made it, sorted by ID.
func (d *Driver) List(ctx context.Context) ([]runtime.Status, error) {
	all, err := d.findAll(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Status, 0, len(all))
	for _, in := range all {
		out = append(out, status(in))
	}
	slices.SortStableFunc(out, func(a, b runtime.Status) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Wait blocks until id's current run exits and returns its final status.
// If ctx ends first it returns ctx's error, wrapped, and the status so far.
func (d *Driver) Wait(ctx context.Context, id string) (runtime.Status, error) {
	in, err := d.find(ctx, id)
	if err != nil {
		return runtime.Status{}, err
	}
	if in.State != nil && in.State.Running {
		w := d.cli.ContainerWait(ctx, in.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-w.Result:
		case err := <-w.Error:
			if ctx.Err() != nil {
				return d.soFar(ctx, id, in)
			}
			return runtime.Status{}, engineErr(id, "wait for", err)
		case <-ctx.Done():
			return d.soFar(ctx, id, in)
		}
	}
	got, err := d.cli.ContainerInspect(ctx, in.ID, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.Status{}, engineErr(id, "inspect", err)
	}
	return status(got.Container), nil
}

// soFar is Wait's answer when ctx ends first: the status now (or as last
// seen) and ctx's error.
func (d *Driver) soFar(ctx context.Context, id string, in container.InspectResponse) (runtime.Status, error) {
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if got, err := d.cli.ContainerInspect(ictx, in.ID, client.ContainerInspectOptions{}); err == nil {
		in = got.Container
	}
	return status(in), fmt.Errorf("docker driver: wait for container %s: %w", id, ctx.Err())
}

// Stop asks id's process to stop (SIGTERM, or the image's stop signal),
// kills it after timeout (rounded up to whole seconds, the engine's unit)
// and returns once it has exited. Stopping an exited container does
// nothing.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	in, err := d.find(ctx, id)
	if err != nil {
		return err
	}
	if in.State == nil || !in.State.Running {
		return nil
	}
	secs := int(math.Ceil(max(timeout, 0).Seconds()))
	if _, err := d.cli.ContainerStop(ctx, in.ID, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return engineErr(id, "stop", err)
	}
	return nil
}

// Remove removes id's container and its logs, stopping it first (for up to
// two seconds) if it runs. It never deletes a named volume the container
// mounted: the data outlives the container, for the slot's next one.
func (d *Driver) Remove(ctx context.Context, id string) error {
	all, err := d.findAll(ctx, id)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return notFound(id, nil)
	}
	for _, in := range all {
		if in.State != nil && in.State.Running {
			secs := int(removeStopTimeout / time.Second)
			if _, err := d.cli.ContainerStop(ctx, in.ID, client.ContainerStopOptions{Timeout: &secs}); err != nil && !cerrNotFound(err) {
				d.log.Warn("docker container did not stop; removing it by force", "id", id, "docker_id", in.ID, "err", err)
			}
		}
		if err := d.forceRemove(ctx, in.ID); err != nil {
			return engineErr(id, "remove", err)
		}
	}
	if err := d.removeSecrets(id); err != nil {
		return err
	}
	d.log.Debug("docker container removed", "id", id)
	return nil
}
