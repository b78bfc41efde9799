package domain

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// ListContainers returns a page of containers, in ID order, keeping those
// of service (an ID or name; "" for every service) on node (a node ID; ""
// for every node). It refuses an actor without read access to apps, and a
// service that does not exist.
func (d *Domain) ListContainers(ctx context.Context, a Actor, service, node string, p Page) (api.List[api.Container], error) {
	if err := a.need(AppsView); err != nil {
		return api.List[api.Container]{}, err
	}
	if service != "" {
		svc, err := d.resolveService(ctx, a, service)
		if err != nil {
			return api.List[api.Container]{}, err
		}
		service = svc.ID
	}
	return listPage(ctx, d.st, store.KindContainers, p, func(c *api.Container) bool {
		return a.owns(&c.Meta) && (service == "" || c.Spec.Service == service) && (node == "" || c.Spec.Node == node)
	})
}

// GetContainer returns the container ref names (an ID or a name, see
// resolveContainer). It refuses an actor without read access to apps.
func (d *Domain) GetContainer(ctx context.Context, a Actor, ref string) (*api.Container, error) {
	if err := a.need(AppsView); err != nil {
		return nil, err
	}
	return d.resolveContainer(ctx, a, ref)
}

// Exec runs cmd in the running container ref names, through its node's
// agent, and returns the command's combined output and exit code. It
// refuses an actor without admin access to apps, an empty command, a
// container that is not running, and, as unavailable, a server that
// cannot reach agents.
func (d *Domain) Exec(ctx context.Context, a Actor, ref string, cmd []string) (api.ExecResult, error) {
	if err := a.need(AppsExec); err != nil {
		return api.ExecResult{}, err
	}
	if len(cmd) == 0 || cmd[0] == "" {
		return api.ExecResult{}, errdefs.Invalid("cmd", "required: the command and its arguments, e.g. [\"ls\",\"-l\"]")
	}
	c, err := d.resolveContainer(ctx, a, ref)
	if err != nil {
		return api.ExecResult{}, err
	}
	noteObject(ctx, c.ID)
	ex, ok := d.cfg.Logs.(Execer)
	if !ok {
		return api.ExecResult{}, newErr(errdefs.ErrUnavailable, "this server cannot reach agents to run commands")
	}
	if c.Spec.Desired == api.ContainerTerminated || c.Status.State != api.ContainerRunning {
		return api.ExecResult{}, newErr(errdefs.ErrConflict, "container %s is %s, not running; exec needs a running container", containerLabel(c), c.Status.State)
	}
	return ex.ContainerExec(ctx, c, cmd)
}

// containerLabel is how messages name a container.
func containerLabel(c *api.Container) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// resolveContainer finds a container by ID, then by name ("web-3"). Names
// have no index: a name lookup reads every container. When a slot's old and
// new containers share a name, the one not being removed wins, then the
// newest. Only the actor's organization's containers are found.
func (d *Domain) resolveContainer(ctx context.Context, a Actor, ref string) (*api.Container, error) {
	var c api.Container
	err := d.st.Get(ctx, store.KindContainers, ref, &c)
	if err == nil && a.owns(&c.Meta) {
		return &c, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	all, _, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
	if err != nil {
		return nil, err
	}
	var best *api.Container
	for _, c := range all {
		if c.Name != ref || !a.owns(&c.Meta) {
			continue
		}
		if best == nil || better(c, best) {
			best = c
		}
	}
	if best == nil {
		return nil, notFoundErr("container", ref)
	}
	return best, nil
}

// better reports whether a should win a name lookup over b: a live one
// over one being removed, then the newer.
func better(a, b *api.Container) bool {
	aLive, bLive := a.Spec.Desired != api.ContainerTerminated, b.Spec.Desired != api.ContainerTerminated
	if aLive != bLive {
		return aLive
	}
	return a.CreatedAt.After(b.CreatedAt)
}
