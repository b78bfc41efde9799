package apiserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

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
// newest.
func (s *Server) resolveContainer(ctx context.Context, ref string) (*api.Container, error) {
	var c api.Container
	err := s.st.Get(ctx, store.KindContainers, ref, &c)
	if err == nil {
		return &c, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	all, _, err := store.ListAll[api.Container](ctx, s.st, store.KindContainers)
	if err != nil {
		return nil, err
	}
	var best *api.Container
	for _, c := range all {
		if c.Name != ref {
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

func better(a, b *api.Container) bool {
	aLive, bLive := a.Spec.Desired != api.ContainerTerminated, b.Spec.Desired != api.ContainerTerminated
	if aLive != bLive {
		return aLive
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// listContainers serves GET /v1/containers?service=<id or name>&node=<id>.
func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	service, node := q.Get("service"), q.Get("node")
	if service != "" {
		svc, err := s.resolveService(r.Context(), service)
		if err != nil {
			return err
		}
		service = svc.ID
	}
	l, err := listPage(r.Context(), s.st, store.KindContainers, p, func(c *api.Container) bool {
		return (service == "" || c.Spec.Service == service) && (node == "" || c.Spec.Node == node)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) getContainer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.resolveContainer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// Execer runs a command in a container through its node's agent (the agent
// gateway implements it; the API finds it on Config.Logs). Errors are
// errdefs errors.
type Execer interface {
	ContainerExec(ctx context.Context, c *api.Container, cmd []string) (api.ExecResult, error)
}

// execContainer serves POST /v1/containers/{id}/exec {"cmd":[...]} (admin
// tokens only): the command's combined output and exit code.
func (s *Server) execContainer(w http.ResponseWriter, r *http.Request) error {
	var req api.ExecRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	if len(req.Cmd) == 0 || req.Cmd[0] == "" {
		return errdefs.Invalid("cmd", "required: the command and its arguments, e.g. [\"ls\",\"-l\"]")
	}
	c, err := s.resolveContainer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	setObject(r, c.ID)
	ex, ok := s.cfg.Logs.(Execer)
	if !ok {
		return newErr(errdefs.ErrUnavailable, "this server cannot reach agents to run commands")
	}
	if c.Spec.Desired == api.ContainerTerminated || c.Status.State != api.ContainerRunning {
		return newErr(errdefs.ErrConflict, "container %s is %s, not running; exec needs a running container", containerLabel(c), c.Status.State)
	}
	res, err := ex.ContainerExec(r.Context(), c, req.Cmd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
