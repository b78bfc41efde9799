package dockerapi

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// streamRoutes serves the calls that stream or need the container's node:
// logs, exec, attach, top and stats. Each is a domain operation; exec and
// attach go to the node's agent and on to its engine (see
// api/agentstreams.go).
func (s *Server) streamRoutes() {
	s.handle("GET /containers/{id}/logs", s.containerLogs)
	s.handle("POST /containers/{id}/exec", s.audited(s.execCreate))
	s.handle("POST /exec/{id}/start", s.audited(s.execStart))
	s.handle("POST /exec/{id}/resize", s.execResize)
	s.handle("GET /exec/{id}/json", s.execInspect)
	s.handle("POST /containers/{id}/attach", s.audited(s.containerAttach))
	s.handle("POST /containers/{id}/resize", s.containerResize)
	s.handle("GET /containers/{id}/top", s.containerTop)
	s.handle("GET /containers/{id}/stats", s.containerStats)
}

// The media types of a stream's bytes.
const (
	rawStream         = "application/vnd.docker.raw-stream"
	multiplexedStream = "application/vnd.docker.multiplexed-stream"
)

// streamType is the media type of a stream of r's version: a terminal's
// raw bytes, else stdout and stderr multiplexed (which clients before API
// 1.42 know by the raw stream's name).
func streamType(r *http.Request, tty bool) string {
	if tty || versionLess(requestVersion(r), "1.42") {
		return rawStream
	}
	return multiplexedStream
}

// boolParam is a query flag as Docker reads it: 1, true, True.
func boolParam(r *http.Request, name string) bool {
	v := r.URL.Query().Get(name)
	b, err := strconv.ParseBool(v)
	return err == nil && b || v == "yes"
}

// lookup is the ID of the container ref names (resolve.go's seam).
func (s *Server) lookup(ctx context.Context, a domain.Actor, ref string) (string, error) {
	c, err := s.container(ctx, a, ref)
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// containerLogs serves GET /containers/{id}/logs: the container's output
// from its node, multiplexed (a raw stream for a container with a
// terminal). The node tells stdout and stderr apart to nobody: both come
// as stdout.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	q := r.URL.Query()
	if !boolParam(r, "stdout") && !boolParam(r, "stderr") {
		return errdefs.New(errdefs.ErrInvalid, "Bad parameters: you must choose at least one stream")
	}
	if boolParam(r, "timestamps") {
		return errdefs.New(errdefs.ErrNotImplemented, "Wharf's nodes keep no timestamps of log lines: drop --timestamps (-t)")
	}
	for _, p := range []string{"since", "until"} {
		if v := q.Get(p); v != "" && v != "0" {
			return errdefs.New(errdefs.ErrNotImplemented, "Wharf's nodes keep no timestamps of log lines, so --"+p+" cannot select them: use --tail N instead")
		}
	}
	tail := 0
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return errdefs.New(errdefs.ErrInvalid, "tail: want a number of lines or \"all\", got "+strconv.Quote(t))
		}
		if n == 0 {
			// Docker's --tail 0: no old lines, only new ones when following.
			if !boolParam(r, "follow") {
				w.Header().Set("Content-Type", streamType(r, false))
				w.WriteHeader(http.StatusOK)
				return nil
			}
		}
		tail = n
	}
	c, err := s.container(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	id := c.ID
	lw := &logStream{w: w, ct: streamType(r, c.Spec.TTY)}
	lw.mux = &muxWriter{w: lw.flushing(), stream: 1}
	if c.Spec.TTY {
		lw.mux = lw.flushing()
	}
	err = s.d.ContainerLogs(r.Context(), a, id, boolParam(r, "follow"), tail, lw)
	if err != nil && lw.open {
		s.log.Debug("docker logs ended with an error", "container", id, "err", err)
		return nil
	}
	if err == nil && !lw.open {
		lw.OpenStream()
	}
	return err
}

// logStream writes a container's log to a Docker client, multiplexed; it
// answers 200 when the domain opens the stream or at the first write.
type logStream struct {
	w    http.ResponseWriter
	ct   string
	mux  io.Writer
	open bool
}

// OpenStream sends the answer's headers (domain.StreamOpener).
func (l *logStream) OpenStream() {
	if l.open {
		return
	}
	l.open = true
	l.w.Header().Set("Content-Type", l.ct)
	l.w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(l.w).Flush()
}

// CommitStream is domain.StreamOpener's; a container's logs never need it.
func (l *logStream) CommitStream() {}

func (l *logStream) Write(p []byte) (int, error) {
	l.OpenStream()
	return l.mux.Write(p)
}

// flushing writes to the response, flushing after every write.
func (l *logStream) flushing() io.Writer {
	rc := http.NewResponseController(l.w)
	return writerFunc(func(p []byte) (int, error) {
		n, err := l.w.Write(p)
		if err == nil {
			err = rc.Flush()
		}
		return n, err
	})
}

// muxWriter writes each write as a frame of Docker's multiplexed stream:
// the stream's number (1 stdout, 2 stderr), three zero bytes, the
// payload's length (big-endian), the payload.
type muxWriter struct {
	w      io.Writer
	stream byte
}

func (m *muxWriter) Write(p []byte) (int, error) {
	frame := make([]byte, 8+len(p))
	frame[0] = m.stream
	binary.BigEndian.PutUint32(frame[4:8], uint32(len(p)))
	copy(frame[8:], p)
	if _, err := m.w.Write(frame); err != nil {
		return 0, err
	}
	return len(p), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// execCreate serves POST /containers/{id}/exec.
func (s *Server) execCreate(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	var req container.ExecCreateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		return errdefs.New(errdefs.ErrInvalid, "exec: the body is not an exec's JSON: "+err.Error())
	}
	id, err := s.lookup(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	cfg := api.StreamExecConfig{Cmd: req.Cmd, Env: req.Env, WorkingDir: req.WorkingDir, User: req.User, Tty: req.Tty,
		AttachStdin: req.AttachStdin, AttachStdout: req.AttachStdout, AttachStderr: req.AttachStderr,
		DetachKeys: req.DetachKeys, Privileged: req.Privileged}
	if req.ConsoleSize != nil {
		cfg.ConsoleSize = *req.ConsoleSize
	}
	eid, err := s.d.CreateExec(r.Context(), a, id, cfg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": eid})
}

// execStart serves POST /exec/{id}/start: detached, 200 once it started;
// else the client's connection is hijacked and spliced to the exec's.
func (s *Server) execStart(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	var req container.ExecStartRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return errdefs.New(errdefs.ErrInvalid, "exec start: the body is not JSON: "+err.Error())
	}
	// The stream outlives this call's context only as the hijacked
	// connection does: splice returns when either side ends.
	st, x, err := s.d.StartExec(r.Context(), a, r.PathValue("id"), req.Tty, req.Detach)
	if err != nil {
		return err
	}
	if req.Detach {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	s.splice(w, r, st, x.Config.Tty || req.Tty)
	return nil
}

// execResize serves POST /exec/{id}/resize?h=&w=.
func (s *Server) execResize(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	h, herr := strconv.ParseUint(r.URL.Query().Get("h"), 10, 32)
	wd, werr := strconv.ParseUint(r.URL.Query().Get("w"), 10, 32)
	if herr != nil || werr != nil {
		return errdefs.New(errdefs.ErrInvalid, "resize: want h and w, the terminal's rows and columns")
	}
	if err := s.d.ResizeExec(r.Context(), a, r.PathValue("id"), uint(h), uint(wd)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerResize serves POST /containers/{id}/resize?h=&w=: the
// terminal of a container made with -t, on its node.
func (s *Server) containerResize(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	h, herr := strconv.ParseUint(r.URL.Query().Get("h"), 10, 32)
	wd, werr := strconv.ParseUint(r.URL.Query().Get("w"), 10, 32)
	if herr != nil || werr != nil {
		return errdefs.New(errdefs.ErrInvalid, "resize: want h and w, the terminal's rows and columns")
	}
	if err := s.d.CanAttach(a); err != nil {
		return err
	}
	if s.ttys.hold(r.PathValue("id"), uint(h), uint(wd)) {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	id, err := s.lookup(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.d.ResizeContainer(r.Context(), a, id, uint(h), uint(wd)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// execInspect serves GET /exec/{id}/json.
func (s *Server) execInspect(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	x, err := s.d.InspectExec(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := container.ExecInspectResponse{
		ID: x.ID, Running: x.Status.Running, ContainerID: x.Container, Pid: x.Status.Pid,
		OpenStdin: x.Config.AttachStdin, OpenStdout: x.Config.AttachStdout, OpenStderr: x.Config.AttachStderr,
		DetachKeys:    []byte(x.Config.DetachKeys),
		ProcessConfig: &container.ExecProcessConfig{Tty: x.Config.Tty, User: x.Config.User},
	}
	if len(x.Config.Cmd) > 0 {
		out.ProcessConfig.Entrypoint, out.ProcessConfig.Arguments = x.Config.Cmd[0], x.Config.Cmd[1:]
	}
	if x.Started && !x.Status.Running {
		code := x.Status.ExitCode
		out.ExitCode = &code
	}
	return writeJSON(w, http.StatusOK, out)
}

// containerAttach serves POST /containers/{id}/attach, hijacking the
// client's connection. docker run attaches before it starts the
// container: a container not started yet is waited for (see
// attachWhenStarted).
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	opts := api.StreamAttach{Stream: boolParam(r, "stream"), Stdin: boolParam(r, "stdin"),
		Stdout: boolParam(r, "stdout"), Stderr: boolParam(r, "stderr"), Logs: boolParam(r, "logs")}
	ref := r.PathValue("id")
	c, err := s.container(r.Context(), a, ref)
	if err == nil && !startedOnNode(c) {
		err = errNotStarted
	}
	if errors.Is(err, errdefs.ErrConflict) && opts.Stream {
		return s.attachWhenStarted(w, r, a, ref, opts)
	}
	if err != nil {
		return err
	}
	st, tty, _, err := s.d.AttachContainer(r.Context(), a, c.ID, opts)
	if err != nil {
		return err
	}
	conn, brw, ok := s.hijack(w, r, tty)
	if !ok {
		st.Close()
		return nil
	}
	pipe(conn, brw.Reader, st)
	return nil
}

var errNotStarted = errdefs.New(errdefs.ErrConflict, "not started yet")

// startedOnNode tells whether c has started on its node (it may have
// exited since): then its node's engine has it to attach to.
func startedOnNode(c *api.Container) bool {
	return c.Spec.Node != "" && (c.Status.State == api.ContainerRunning || !c.Status.StartedAt.IsZero() || c.Status.ExitCode != nil)
}

// attachWait bounds how long an attach waits for its container to start.
const attachWait = 10 * time.Minute

// attachWhenStarted answers the attach at once, as the client waits for
// the answer before it starts the container, then waits for the
// container to start on its node and attaches there with its logs from
// the start, so that no output is lost. The actor's right to attach is
// checked before the answer.
func (s *Server) attachWhenStarted(w http.ResponseWriter, r *http.Request, a domain.Actor, ref string, opts api.StreamAttach) error {
	if err := s.d.CanAttach(a); err != nil {
		return err
	}
	// The answer's media type: a terminal's raw stream if the container
	// will have one (docker run -t).
	tty := false
	if e, err := s.find(r, a); err == nil {
		tty = e.svc.Spec.TTY
	}
	// Registered before the answer: the client's resize follows its
	// start call, which follows the answer.
	var size *pendingTTY
	if tty {
		size = s.ttys.add(ref)
		defer s.ttys.remove(ref, size)
	}
	conn, brw, ok := s.hijack(w, r, tty)
	if !ok {
		return nil
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(r.Context(), attachWait)
	defer cancel()
	var c *api.Container
	for {
		got, err := s.container(ctx, a, ref)
		if err == nil && startedOnNode(got) {
			c = got
			break
		}
		if err != nil && !errors.Is(err, errdefs.ErrConflict) {
			s.log.Debug("attach: the container went away before it started", "container", ref, "err", err)
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	opts.Logs = true
	st, _, _, err := s.d.AttachContainer(r.Context(), a, c.ID, opts)
	if err != nil {
		s.log.Debug("attach after start failed", "container", ref, "err", err)
		return nil
	}
	if size != nil {
		s.resizeAttached(r.Context(), a, c.ID, size)
	}
	pipe(conn, brw.Reader, st)
	return nil
}

// containerTop serves GET /containers/{id}/top?ps_args=.
func (s *Server) containerTop(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	id, err := s.lookup(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	top, err := s.d.ContainerTop(r.Context(), a, id, r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, container.TopResponse{Titles: top.Titles, Processes: top.Processes})
}

// containerStats serves GET /containers/{id}/stats?stream=: the node's
// engine's stats JSON as it is, one object or one per line.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	id, err := s.lookup(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	stream := r.URL.Query().Get("stream") == "" || boolParam(r, "stream")
	body, _, err := s.d.ContainerStats(r.Context(), a, id, stream)
	if err != nil {
		return err
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	_, _ = io.Copy(writerFunc(func(p []byte) (int, error) {
		n, err := w.Write(p)
		if err == nil {
			err = rc.Flush()
		}
		return n, err
	}), body)
	return nil
}

// splice hijacks the client's connection and pipes it to st.
func (s *Server) splice(w http.ResponseWriter, r *http.Request, st io.ReadWriteCloser, tty bool) {
	conn, brw, ok := s.hijack(w, r, tty)
	if !ok {
		st.Close()
		return
	}
	pipe(conn, brw.Reader, st)
}

// hijack takes the client's connection and answers as the Docker daemon
// does: 101 UPGRADED when the client asked to upgrade, else 200, with the
// stream's media type.
func (s *Server) hijack(w http.ResponseWriter, r *http.Request, tty bool) (net.Conn, *bufio.ReadWriter, bool) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.log.Warn("cannot hijack a Docker client's connection", "path", r.URL.Path, "err", err)
		return nil, nil, false
	}
	// The server's read timeout does not apply to a stream.
	_ = conn.SetDeadline(time.Time{})
	head := "HTTP/1.1 200 OK\r\n"
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") || strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
		head = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	head += "Content-Type: " + streamType(r, tty) + "\r\nApi-Version: " + MaxAPIVersion + "\r\n\r\n"
	if _, err := brw.WriteString(head); err != nil {
		conn.Close()
		return nil, nil, false
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, false
	}
	return conn, brw, true
}

// pipe copies bytes both ways between the client's connection and st
// until st's output ends or the client goes away, then closes both. The
// client's half-close ends the process's input.
func pipe(conn net.Conn, in io.Reader, st io.ReadWriteCloser) {
	defer conn.Close()
	defer st.Close()
	go func() {
		_, _ = io.Copy(st, in)
		if cw, ok := st.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	_, _ = io.Copy(conn, st)
}

// audited records h's call in the audit trail, as the REST API records
// its mutating calls: who, what, on which container, and how it ended.
func (s *Server) audited(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
		start := time.Now()
		var note domain.Note
		r = r.WithContext(domain.Noting(r.Context(), &note))
		sw := &statusRecorder{ResponseWriter: w}
		err := h(sw, r, a)
		act := api.Action{Who: a.Name, Method: r.Method, Path: r.URL.Path, Kind: "container", Object: cmp.Or(note.Object, r.PathValue("id")),
			Status: sw.status, Result: "Success", Started: start.UTC(), Duration: time.Since(start).Seconds()}
		switch {
		case err != nil:
			act.Status, act.Result, act.Error = statusOf(err), "Failed", err.Error()
		case act.Status == 0:
			act.Status = http.StatusSwitchingProtocols // hijacked
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		if rerr := s.d.RecordAction(ctx, a, act); rerr != nil {
			s.log.Warn("cannot record action", "path", r.URL.Path, "who", a.Name, "err", rerr)
		}
		return err
	}
}

// statusRecorder notes the status a handler answered; a hijacked
// connection's is 101.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}
