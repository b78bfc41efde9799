package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// The operations behind the Docker endpoint's exec, attach, top and stats
// (docker exec -it, docker attach, docker top, docker stats): each goes
// to the container's node through its agent. Exec and attach need the
// same access as the REST API's exec (admin on apps); top and stats the
// same as logs (read on apps).

// ContainerStreamer reaches containers' processes on their nodes (the
// agent gateway implements it). Errors are errdefs errors. The streams it
// returns have CloseWrite, which ends the process's input.
type ContainerStreamer interface {
	ExecCreate(ctx context.Context, c *api.Container, cfg api.StreamExecConfig) (string, error)
	ExecStart(ctx context.Context, node, eid string, tty, detach bool) (io.ReadWriteCloser, error)
	ExecResize(ctx context.Context, node, eid string, height, width uint) error
	ExecInspect(ctx context.Context, node, eid string) (api.StreamExecStatus, error)
	ContainerAttach(ctx context.Context, c *api.Container, opts api.StreamAttach) (io.ReadWriteCloser, bool, error)
	ContainerResize(ctx context.Context, c *api.Container, height, width uint) error
	ContainerTop(ctx context.Context, c *api.Container, psArgs string) (api.StreamTop, error)
	ContainerStats(ctx context.Context, c *api.Container, stream bool) (io.ReadCloser, error)
}

func (d *Domain) streamer() (ContainerStreamer, error) {
	if s, ok := d.cfg.Logs.(ContainerStreamer); ok {
		return s, nil
	}
	return nil, newErr(errdefs.ErrUnavailable, "this server cannot reach agents to exec, attach, or read processes and stats")
}

// Exec is an exec made by CreateExec.
type Exec struct {
	// ID is the exec's ID as clients name it (not the node's).
	ID string
	// Container is the container's ID; Name its name.
	Container, Name string
	Node            string
	Config          api.StreamExecConfig
	// Started tells whether the exec was started; then Status is its
	// state on the node, as InspectExec last read it.
	Started bool
	Status  api.StreamExecStatus

	owner   string // the actor's organization and user or token
	nodeID  string // the node's ID for it
	expires time.Time
}

// execTTL is how long an exec is kept after its creation or its last use.
const execTTL = time.Hour

// maxExecsPerActor bounds the execs one actor has at once.
const maxExecsPerActor = 1000

// execTable is the execs the Docker endpoint made, by ID. It is the
// server's own: an exec is started, resized and inspected on the server
// that made it.
type execTable struct {
	mu sync.Mutex
	m  map[string]*Exec
}

// ownerKey is whose an exec is: one user (any of their certificates), or
// one token of no user.
func ownerKey(a Actor) string {
	if a.User != "" {
		return a.orgOf() + "/user/" + a.User
	}
	return a.orgOf() + "/token/" + a.Token + "/" + a.Name
}

// CreateExec makes an exec of cfg in the running container ref names, on
// its node, and returns its ID. It refuses an actor without admin access
// to apps, an empty command, a privileged exec, a container that is not running, and, as
// unavailable, a server that cannot reach agents.
func (d *Domain) CreateExec(ctx context.Context, a Actor, ref string, cfg api.StreamExecConfig) (string, error) {
	if err := a.need(AppsExec); err != nil {
		return "", err
	}
	if len(cfg.Cmd) == 0 || cfg.Cmd[0] == "" {
		return "", errdefs.Invalid("Cmd", "required: the command and its arguments, e.g. docker exec CONTAINER ls -l")
	}
	if cfg.Privileged {
		return "", errdefs.Invalid("Privileged", "Wharf runs an exec with its container's own confinement; drop --privileged")
	}
	c, err := d.resolveContainer(ctx, a, ref)
	if err != nil {
		return "", err
	}
	noteObject(ctx, c.ID)
	st, err := d.streamer()
	if err != nil {
		return "", err
	}
	if c.Spec.Desired == api.ContainerTerminated || c.Status.State != api.ContainerRunning || c.Spec.Node == "" {
		return "", newErr(errdefs.ErrConflict, "container %s is %s, not running; exec needs a running container", containerLabel(c), c.Status.State)
	}
	owner := ownerKey(a)
	now := d.cfg.Now()
	d.execs.mu.Lock()
	n := 0
	for id, x := range d.execs.m {
		switch {
		case now.After(x.expires):
			delete(d.execs.m, id)
		case x.owner == owner:
			n++
		}
	}
	d.execs.mu.Unlock()
	if n >= maxExecsPerActor {
		return "", newErr(errdefs.ErrTooManyRequests, "you have %d execs made in the last hour; wait for some to expire", n)
	}
	nodeID, err := st.ExecCreate(ctx, c, cfg)
	if err != nil {
		return "", err
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	x := &Exec{ID: hex.EncodeToString(b[:]), Container: c.ID, Name: containerLabel(c), Node: c.Spec.Node, Config: cfg,
		owner: owner, nodeID: nodeID, expires: now.Add(execTTL)}
	d.execs.mu.Lock()
	if d.execs.m == nil {
		d.execs.m = map[string]*Exec{}
	}
	d.execs.m[x.ID] = x
	d.execs.mu.Unlock()
	return x.ID, nil
}

// exec is the actor's exec id, its expiry pushed back; another actor's
// or an expired one is not found. It returns a copy.
func (d *Domain) exec(a Actor, id string) (*Exec, error) {
	if err := a.need(AppsExec); err != nil {
		return nil, err
	}
	now := d.cfg.Now()
	d.execs.mu.Lock()
	defer d.execs.mu.Unlock()
	x := d.execs.m[id]
	if x == nil || x.owner != ownerKey(a) || now.After(x.expires) {
		return nil, newErr(errdefs.ErrNotFound, "No such exec instance: %s", id)
	}
	x.expires = now.Add(execTTL)
	cp := *x
	return &cp, nil
}

// StartExec starts exec id: detached, it returns once the exec started
// and a nil stream; else the exec's stream (raw bytes with tty, else
// multiplexed as Docker does). It refuses an actor without admin access
// to apps, an exec that is not the actor's (not found), and one started
// already.
func (d *Domain) StartExec(ctx context.Context, a Actor, id string, tty, detach bool) (io.ReadWriteCloser, *Exec, error) {
	x, err := d.exec(a, id)
	if err != nil {
		return nil, nil, err
	}
	noteObject(ctx, x.Container)
	st, err := d.streamer()
	if err != nil {
		return nil, nil, err
	}
	d.execs.mu.Lock()
	started := d.execs.m[id].Started
	d.execs.m[id].Started = true
	d.execs.mu.Unlock()
	if started {
		return nil, nil, newErr(errdefs.ErrConflict, "exec %s has been started already; create another with docker exec", id)
	}
	s, err := st.ExecStart(ctx, x.Node, x.nodeID, tty, detach)
	if err != nil {
		return nil, nil, err
	}
	x.Started = true
	return s, x, nil
}

// ResizeExec sets the terminal size of exec id. It refuses what
// StartExec refuses but a started exec, and a size of zero.
func (d *Domain) ResizeExec(ctx context.Context, a Actor, id string, height, width uint) error {
	x, err := d.exec(a, id)
	if err != nil {
		return err
	}
	if height == 0 || width == 0 || height > 1<<15 || width > 1<<15 {
		return errdefs.Invalid("h and w", "want the terminal's rows and columns, each from 1 to 32768")
	}
	st, err := d.streamer()
	if err != nil {
		return err
	}
	return st.ExecResize(ctx, x.Node, x.nodeID, height, width)
}

// InspectExec returns exec id with its state on the node (Running, exit
// code) once started. It refuses what StartExec refuses but a started
// exec.
func (d *Domain) InspectExec(ctx context.Context, a Actor, id string) (*Exec, error) {
	x, err := d.exec(a, id)
	if err != nil {
		return nil, err
	}
	if !x.Started {
		return x, nil
	}
	st, err := d.streamer()
	if err != nil {
		return nil, err
	}
	if x.Status, err = st.ExecInspect(ctx, x.Node, x.nodeID); err != nil {
		return nil, err
	}
	return x, nil
}

// AttachContainer attaches to the streams of the container ref names and
// returns the stream, whether it is a terminal's (raw bytes) rather than
// multiplexed, and the container. It refuses an actor without admin
// access to apps (attaching may write to the container's input), a
// container not placed on a node, and, as not implemented, a container
// whose driver cannot attach.
func (d *Domain) AttachContainer(ctx context.Context, a Actor, ref string, opts api.StreamAttach) (io.ReadWriteCloser, bool, *api.Container, error) {
	if err := a.need(AppsExec); err != nil {
		return nil, false, nil, err
	}
	c, err := d.resolveContainer(ctx, a, ref)
	if err != nil {
		return nil, false, nil, err
	}
	noteObject(ctx, c.ID)
	st, err := d.streamer()
	if err != nil {
		return nil, false, nil, err
	}
	if c.Spec.Node == "" {
		return nil, false, nil, newErr(errdefs.ErrConflict, "container %s is not placed on a node yet; attach once it is", containerLabel(c))
	}
	s, tty, err := st.ContainerAttach(ctx, c, opts)
	return s, tty, c, err
}

// ResizeContainer sets the terminal size of the container ref names
// (docker run -t; docker resizes as its terminal does). It refuses what
// AttachContainer refuses, a size of zero, and a container without a
// terminal.
func (d *Domain) ResizeContainer(ctx context.Context, a Actor, ref string, height, width uint) error {
	if err := a.need(AppsExec); err != nil {
		return err
	}
	if height == 0 || width == 0 || height > 1<<15 || width > 1<<15 {
		return errdefs.Invalid("h and w", "want the terminal's rows and columns, each from 1 to 32768")
	}
	c, err := d.resolveContainer(ctx, a, ref)
	if err != nil {
		return err
	}
	st, err := d.streamer()
	if err != nil {
		return err
	}
	if !c.Spec.TTY {
		return newErr(errdefs.ErrConflict, "container %s has no terminal to resize: create it with docker run -t", containerLabel(c))
	}
	if c.Spec.Node == "" || c.Status.State != api.ContainerRunning {
		return newErr(errdefs.ErrConflict, "container %s is %s, not running; its terminal is resized once it runs", containerLabel(c), c.Status.State)
	}
	return st.ContainerResize(ctx, c, height, width)
}

// CanAttach tells whether a may attach to containers (admin access to
// apps): the Docker endpoint asks before it answers an attach that must
// wait for its container to start, then calls AttachContainer.
func (d *Domain) CanAttach(a Actor) error {
	return a.need(AppsExec)
}

// ContainerTop lists the processes of the running container ref names,
// with ps's arguments psArgs. It refuses an actor without read access to
// apps' logs, and a container not running.
func (d *Domain) ContainerTop(ctx context.Context, a Actor, ref, psArgs string) (api.StreamTop, error) {
	c, st, err := d.runningForStreams(ctx, a, ref, "its processes")
	if err != nil {
		return api.StreamTop{}, err
	}
	return st.ContainerTop(ctx, c, psArgs)
}

// ContainerStats returns the resource use of the running container ref
// names, as the engine's stats JSON: one object, or with stream one per
// line until ctx ends. It refuses what ContainerTop refuses.
func (d *Domain) ContainerStats(ctx context.Context, a Actor, ref string, stream bool) (io.ReadCloser, *api.Container, error) {
	c, st, err := d.runningForStreams(ctx, a, ref, "stats")
	if err != nil {
		return nil, nil, err
	}
	rc, err := st.ContainerStats(ctx, c, stream)
	return rc, c, err
}

func (d *Domain) runningForStreams(ctx context.Context, a Actor, ref, what string) (*api.Container, ContainerStreamer, error) {
	if err := a.need(AppsLogs); err != nil {
		return nil, nil, err
	}
	c, err := d.resolveContainer(ctx, a, ref)
	if err != nil {
		return nil, nil, err
	}
	st, err := d.streamer()
	if err != nil {
		return nil, nil, err
	}
	if c.Spec.Node == "" || c.Status.State != api.ContainerRunning {
		return nil, nil, newErr(errdefs.ErrConflict, "container %s is %s, not running, so it has no %s", containerLabel(c), c.Status.State, what)
	}
	return c, st, nil
}
