package dockerapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// containerRoutes serves the container verbs: create, start, ps, inspect,
// stop, restart, kill, rm, wait and rename (docker port reads inspect).
// A container made through the Docker API is a standalone service (see
// docs/docker-api.md "Containers"); its verbs are that service's
// operations. The containers of Wharf's own services and stacks are
// listed and inspected, and the verbs that would change one of them alone
// are refused, naming the wharf command to use.
func (s *Server) containerRoutes() {
	s.handle("POST /containers/create", s.createContainer)
	s.handle("GET /containers/json", s.listContainers)
	s.handle("GET /containers/{id}/json", s.inspectContainer)
	s.handle("POST /containers/{id}/start", s.startContainer)
	s.handle("POST /containers/{id}/stop", s.stopContainer)
	s.handle("POST /containers/{id}/restart", s.restartContainer)
	s.handle("POST /containers/{id}/kill", s.killContainer)
	s.handle("POST /containers/{id}/wait", s.waitContainer)
	s.handle("POST /containers/{id}/rename", s.renameContainer)
	s.handle("DELETE /containers/{id}", s.removeContainer)
}

// slashedContainerPath is the escaped path that lets a container route's
// {id} be a "node/name" reference, which the docker CLI puts into the
// path as it is (/containers/node-1/web/json): the slashes within the
// reference become %2F. It returns "" for any other path.
func slashedContainerPath(method, path string) string {
	rest, ok := strings.CutPrefix(path, "/containers/")
	if !ok {
		return ""
	}
	segs := strings.Split(rest, "/")
	verbs := 1
	switch {
	case len(segs) >= 2 && segs[len(segs)-2] == "attach" && segs[len(segs)-1] == "ws":
		verbs = 2
	case method == http.MethodDelete:
		verbs = 0 // DELETE /containers/{id}
	}
	if len(segs)-verbs < 2 {
		return ""
	}
	ref := segs[:len(segs)-verbs]
	for i, s := range ref {
		ref[i] = url.PathEscape(s)
	}
	out := "/containers/" + strings.Join(ref, "%2F")
	if verbs > 0 {
		out += "/" + strings.Join(segs[len(segs)-verbs:], "/")
	}
	return out
}

// createContainer makes a standalone service, stopped, after checking
// that a node can run it (Swarm's synchronous "unable to find a node").
func (s *Server) createContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return err
	}
	body, err := parseCreateBody(data)
	if err != nil {
		return err
	}
	if p := r.URL.Query().Get("platform"); p != "" && !strings.HasPrefix(p, "linux") {
		return errdefs.Invalid("platform", "Wharf runs linux containers, not %s", p)
	}
	spec, err := body.toSpec()
	if err != nil {
		return err
	}
	spec.PullPolicy = s.createPullPolicy(r.Context(), a, spec.Image, spec.PullPolicy)
	if err := s.d.CheckPlacement(r.Context(), a, spec); err != nil {
		return err
	}
	name, generated, err := createName(r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		svc, err := s.d.CreateService(r.Context(), a, name, spec)
		if err == nil {
			return writeJSON(w, http.StatusCreated, container.CreateResponse{ID: svc.ID, Warnings: []string{}})
		}
		if !errors.Is(err, errdefs.ErrConflict) {
			return err
		}
		if !generated || try == 5 {
			return errdefs.New(errdefs.ErrConflict, "Conflict. The container name \"/"+name+"\" is already in use by a container or service. You have to remove (or rename) it to be able to reuse that name.")
		}
		name = randomName() + "-" + strconv.Itoa(try+2)
	}
}

// listContainers is docker ps.
func (s *Server) listContainers(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	q := r.URL.Query()
	f, err := parsePSFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	all := q.Get("all") == "1" || q.Get("all") == "true"
	limit := -1
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil {
			return errdefs.Invalid("limit", "must be a number, got %q", l)
		}
		if limit > 0 {
			all = true
		}
	}
	snap, err := s.load(r.Context(), a)
	if err != nil {
		return err
	}
	now := time.Now()
	out := []container.Summary{}
	for _, e := range snap.entries {
		if limit > 0 && len(out) >= limit {
			break
		}
		sum := e.summary(now)
		if !all && sum.State != container.StateRunning && !f.has("status") {
			continue
		}
		if !f.match(e, sum) {
			continue
		}
		out = append(out, sum)
	}
	return writeJSON(w, http.StatusOK, out)
}

// find resolves the {id} of r.
func (s *Server) find(r *http.Request, a domain.Actor) (*entry, error) {
	snap, err := s.load(r.Context(), a)
	if err != nil {
		return nil, err
	}
	return snap.find(r.PathValue("id"))
}

// inspectContainer is docker inspect (and docker port).
func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	e, err := s.find(r, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e.inspect(time.Now()))
}

// standalone finds the {id} of r and refuses a container of a Wharf
// service: verb is what the user asked (stop), use the wharf command
// that does it to the whole service.
func (s *Server) standalone(r *http.Request, a domain.Actor, verb, use string) (*entry, error) {
	e, err := s.find(r, a)
	if err != nil {
		return nil, err
	}
	if !e.svc.Spec.Standalone {
		what := "service " + e.svc.Name
		if e.project != "" {
			what = "stack " + e.project + "'s service " + e.svc.Name
		}
		return nil, errdefs.New(errdefs.ErrConflict, "container "+e.name+" belongs to "+what+", whose containers Wharf keeps as the service says: "+
			verb+" it with `wharf service "+use+" "+e.svc.Name+"` (the whole service)")
	}
	return e, nil
}

// active tells whether the container runs or is on its way up or down.
func (e *entry) active() bool {
	if e.c == nil {
		return false
	}
	switch e.c.Status.State {
	case api.ContainerStarting, api.ContainerRunning, api.ContainerStopping:
		return true
	}
	return false
}

// reload reads e again: its service and that service's containers.
func (s *Server) reload(ctx context.Context, a domain.Actor, e *entry) (*entry, error) {
	svc, err := s.d.GetService(ctx, a, e.svc.ID)
	if err != nil {
		return nil, err
	}
	l, err := s.d.ListContainers(ctx, a, svc.ID, "", domain.Page{Limit: domain.MaxLimit})
	if err != nil {
		return nil, err
	}
	ne := *e
	ne.svc, ne.c = svc, nil
	for i := range l.Items {
		c := &l.Items[i]
		if ne.c == nil || betterEntry(c, ne.c) {
			ne.c = c
		}
	}
	if ne.c != nil && (ne.node == nil || ne.node.ID != ne.c.Spec.Node) {
		ne.node = &api.Node{Meta: api.Meta{ID: ne.c.Spec.Node, Name: ne.c.Spec.Node}}
		if n, err := s.d.GetNode(ctx, a, ne.c.Spec.Node); err == nil {
			ne.node = n
		}
	}
	return &ne, nil
}

// pollEvery is how often a call that waits reads its container again.
const pollEvery = 150 * time.Millisecond

// await reads e again until done says so (returning the last reading), the
// service is gone (a not-found error), or limit passes (nil entry, nil
// error); limit 0 waits as long as the call lasts.
func (s *Server) await(ctx context.Context, a domain.Actor, e *entry, limit time.Duration, done func(*entry) bool) (*entry, error) {
	var deadline <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		deadline = t.C
	}
	for {
		ne, err := s.reload(ctx, a, e)
		if err != nil || done(ne) {
			return ne, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return nil, nil
		case <-time.After(pollEvery):
		}
	}
}

// startContainer is docker start: the service is started and the call
// returns once its container runs, or with the reason it could not start.
func (s *Server) startContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	e, err := s.standalone(r, a, "start", "start")
	if err != nil {
		return err
	}
	if e.svc.Spec.Running && e.active() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return s.start(r.Context(), a, e)
}

// start starts e's service and waits for its container to run.
func (s *Server) start(ctx context.Context, a domain.Actor, e *entry) error {
	var beforeID string
	var beforeRun int
	var beforeEnd time.Time
	if e.c != nil {
		beforeID, beforeRun, beforeEnd = e.c.ID, e.c.Status.Run, e.c.Status.FinishedAt
	}
	if _, err := s.d.SetServiceRunning(ctx, a, e.svc.ID, true, 0); err != nil {
		return err
	}
	var failure string
	_, err := s.await(ctx, a, e, 2*time.Minute, func(ne *entry) bool {
		c := ne.c
		switch {
		case c == nil:
			return false
		case c.Status.State == api.ContainerRunning:
			return true
		case c.Spec.Node == "" && ne.svc.Status.Pending != "":
			failure = "unable to find a node that satisfies the container's placement: " + ne.svc.Status.Pending
			return true
		case c.Status.State == api.ContainerStopped && (c.ID != beforeID || c.Status.Run != beforeRun || !c.Status.FinishedAt.Equal(beforeEnd)):
			if c.Status.ExitCode != nil {
				return true // it ran, and exited already
			}
			failure = c.Status.LastError()
			if failure == "" {
				failure = "it exited at once"
			}
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	if failure != "" {
		return errdefs.New(errdefs.ErrConflict, "container "+e.name+" did not start: "+failure)
	}
	return nil
}

// stopTimeout is how long docker stop's ?t= lets the agent stop the
// container, plus what Wharf needs to pass the word on.
func stopTimeout(r *http.Request) (time.Duration, error) {
	t := 10
	if v := r.URL.Query().Get("t"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			return 0, errdefs.Invalid("t", "must be a number of seconds, got %q", v)
		}
		t = max(n, 0)
	}
	return time.Duration(t)*time.Second + 60*time.Second, nil
}

// stop stops e's service and waits until its container no longer runs.
func (s *Server) stop(ctx context.Context, a domain.Actor, e *entry, limit time.Duration) error {
	if _, err := s.d.SetServiceRunning(ctx, a, e.svc.ID, false, 0); err != nil {
		return err
	}
	ne, err := s.await(ctx, a, e, limit, func(ne *entry) bool { return !ne.active() })
	if err != nil {
		return err
	}
	if ne == nil {
		return errdefs.New(errdefs.ErrUnavailable, "container "+e.name+" was asked to stop but still runs after "+limit.String()+": is its node reachable? (`wharf node ls`)")
	}
	return nil
}

// stopContainer is docker stop: it returns once the container stopped.
// ?t= is not passed on: the agent stops a container with its own grace
// (SIGTERM, then SIGKILL).
func (s *Server) stopContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	limit, err := stopTimeout(r)
	if err != nil {
		return err
	}
	e, err := s.standalone(r, a, "stop", "stop")
	if err != nil {
		return err
	}
	if !e.svc.Spec.Running && !e.active() {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if err := s.stop(r.Context(), a, e, limit); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// restartContainer is docker restart: stop, then start, of the same
// container (its ID stays).
func (s *Server) restartContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	limit, err := stopTimeout(r)
	if err != nil {
		return err
	}
	e, err := s.standalone(r, a, "restart", "redeploy")
	if err != nil {
		return err
	}
	if err := s.stop(r.Context(), a, e, limit); err != nil {
		return err
	}
	ne, err := s.reload(r.Context(), a, e)
	if err != nil {
		return err
	}
	if err := s.start(r.Context(), a, ne); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// killSignals are the signals docker kill may send: Wharf stops the
// container (its agent sends SIGTERM, then SIGKILL after its grace).
var killSignals = regexp.MustCompile(`^(|(SIG)?KILL|9|(SIG)?TERM|15)$`)

// killContainer is docker kill: the container is stopped.
func (s *Server) killContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	sig := strings.ToUpper(r.URL.Query().Get("signal"))
	if !killSignals.MatchString(sig) {
		return errdefs.New(errdefs.ErrNotImplemented, "Wharf cannot send signal "+sig+" to a container: it can only stop one (docker kill with KILL or TERM, or docker stop)")
	}
	e, err := s.standalone(r, a, "stop", "stop")
	if err != nil {
		return err
	}
	if !e.active() {
		return errdefs.New(errdefs.ErrConflict, "Cannot kill container: "+e.name+": container "+e.id+" is not running")
	}
	if err := s.stop(r.Context(), a, e, 70*time.Second); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeContainer is docker rm: the standalone service is removed, and
// the call returns once it is gone. ?v= is accepted: named volumes stay
// (as docker rm -v leaves them) and there are no anonymous ones.
func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	force := r.URL.Query().Get("force") == "1" || r.URL.Query().Get("force") == "true"
	e, err := s.standalone(r, a, "remove", "rm")
	if err != nil {
		return err
	}
	if e.active() && !force {
		return errdefs.New(errdefs.ErrConflict, "cannot remove container \""+e.dockerName()+"\": container is running: stop the container before removing or force remove")
	}
	if _, err := s.d.RemoveService(r.Context(), a, e.svc.ID, 0); err != nil {
		return err
	}
	ne, err := s.await(r.Context(), a, e, 2*time.Minute, func(*entry) bool { return false })
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if err == nil && ne == nil {
		return errdefs.New(errdefs.ErrUnavailable, "container "+e.name+" is being removed but is not gone after 2 minutes: is its node reachable? (`wharf node ls`)")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// waitContainer is docker wait: it answers once the container does not
// run (condition not-running, the default), after its next exit
// (next-exit), or once it is removed (removed), with its exit code.
func (s *Server) waitContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	cond := r.URL.Query().Get("condition")
	switch cond {
	case "", "not-running", "next-exit", "removed":
	default:
		return errdefs.Invalid("condition", "unknown wait condition %q: want not-running, next-exit or removed", cond)
	}
	e, err := s.find(r, a)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	seenActive := e.active()
	last := e
	removing := false
	// The exit code as last seen: a --rm container's record goes before
	// its service does, and the entries read after it have none.
	var code *int
	ne, err := s.await(r.Context(), a, e, 0, func(ne *entry) bool {
		last = ne
		if ne.c != nil && ne.c.Status.ExitCode != nil {
			code = ne.c.Status.ExitCode
		}
		switch cond {
		case "removed":
			if !removing && ne.autoRemove() && exited(ne) {
				removing = s.removeWhenDestroyed(r.Context(), a, ne)
			}
			return false
		case "next-exit":
			if ne.active() {
				seenActive = true
				return false
			}
			return seenActive
		}
		return !ne.active()
	})
	res := container.WaitResponse{}
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
		ne = last
	case err != nil:
		res.StatusCode = -1
		res.Error = &container.WaitExitError{Message: err.Error()}
		return writeBody(w, res)
	}
	if ne != nil && ne.c != nil && ne.c.Status.ExitCode != nil {
		code = ne.c.Status.ExitCode
	}
	if code != nil {
		res.StatusCode = int64(*code)
	}
	return writeBody(w, res)
}

// exited tells whether e's container ran and exited.
func exited(e *entry) bool {
	return e.c != nil && e.c.Status.ExitCode != nil && !e.active()
}

// removeWhenDestroyed removes the service of a container of docker run
// --rm (autoRemove) that exited: Autodestroy terminated its container,
// and the Docker client waits (condition removed) for the container to
// be gone. It tells whether the removal was asked. A --rm container
// nobody waits for (docker run -d --rm) stays as a stopped service of no
// container until docker rm.
func (s *Server) removeWhenDestroyed(ctx context.Context, a domain.Actor, e *entry) bool {
	if _, err := s.d.RemoveService(ctx, a, e.svc.ID, 0); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		s.log.Debug("docker run --rm: cannot remove the exited container's service", "service", e.svc.ID, "err", err)
		return false
	}
	return true
}

// renameContainer is docker rename: the standalone service (and its
// container) takes the new name.
func (s *Server) renameContainer(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	name, err := checkName(r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	e, err := s.standalone(r, a, "rename", "update")
	if err != nil {
		return err
	}
	if _, err := s.d.RenameService(r.Context(), a, e.svc.ID, name); err != nil {
		if errors.Is(err, errdefs.ErrConflict) && !strings.Contains(err.Error(), "stack") {
			return errdefs.New(errdefs.ErrConflict, "Error when allocating new name: Conflict. The container name \"/"+name+"\" is already in use: "+err.Error())
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
