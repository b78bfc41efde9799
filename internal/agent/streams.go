package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
)

// The agent's side of the Docker endpoint's exec, attach, top and stats
// (see api/agentstreams.go). Only the server reaches these routes: they
// are served on the session's yamux streams, which the agent opened to
// the gateway over mutual TLS. An exec is started, resized or inspected
// only by the ID this session's ExecCreate returned, so the server
// cannot reach an engine exec of anything but a Wharf container of this
// node.

// execTTL is how long the agent remembers an exec it made.
const execTTL = time.Hour

// streamExecs are the execs a session made, by the engine's exec ID.
type streamExecs struct {
	mu sync.Mutex
	m  map[string]streamExec
}

type streamExec struct {
	drv       runtime.Streamer
	container string
	at        time.Time
}

func (e *streamExecs) add(id string, x streamExec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]streamExec{}
	}
	for k, v := range e.m {
		if time.Since(v.at) > execTTL {
			delete(e.m, k)
		}
	}
	e.m[id] = x
}

func (e *streamExecs) get(id string) (streamExec, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[id]
	return x, ok
}

func (s *agentSession) streamRoutes(h *http.ServeMux) {
	h.HandleFunc("POST /agent/v1/containers/{id}/execs", s.handleExecCreate)
	h.HandleFunc("POST /agent/v1/execs/{eid}/start", s.handleExecStart)
	h.HandleFunc("POST /agent/v1/execs/{eid}/resize", s.handleExecResize)
	h.HandleFunc("GET /agent/v1/execs/{eid}", s.handleExecInspect)
	h.HandleFunc("POST /agent/v1/containers/{id}/attach", s.handleAttach)
	h.HandleFunc("POST /agent/v1/containers/{id}/resize", s.handleResize)
	h.HandleFunc("GET /agent/v1/containers/{id}/top", s.handleTop)
	h.HandleFunc("GET /agent/v1/containers/{id}/stats", s.handleStats)
	h.HandleFunc("POST /agent/v1/streams/{sid}/close", s.handleStreamClose)
}

// spliced are the session's open streams, by the server's name for them,
// each with what ends it.
type spliced struct {
	mu sync.Mutex
	m  map[string]func()
}

func (sp *spliced) add(id string, end func()) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.m == nil {
		sp.m = map[string]func(){}
	}
	sp.m[id] = end
}

func (sp *spliced) remove(id string) func() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	end := sp.m[id]
	delete(sp.m, id)
	return end
}

// handleStreamClose ends a stream whose client went away.
func (s *agentSession) handleStreamClose(w http.ResponseWriter, r *http.Request) {
	if end := s.streams.remove(r.PathValue("sid")); end != nil {
		end()
	}
	w.WriteHeader(http.StatusNoContent)
}

// streamer is the driver of container id if it can stream, else the
// error to answer.
func (s *agentSession) streamer(r *http.Request, id, what string) (runtime.Streamer, error) {
	drv := s.a.exec.driverOf(r.Context(), id)
	if drv == nil {
		return nil, errNoContainer(id)
	}
	st, ok := drv.(runtime.Streamer)
	if !ok {
		return nil, errdefs.New(errdefs.ErrNotImplemented, "the "+drv.Name()+" driver cannot "+what+"; only containers of the docker driver can")
	}
	return st, nil
}

// driverErr maps a driver's error to the answer's kind.
func driverErr(err error) error {
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return errdefs.New(errdefs.ErrNotFound, err.Error())
	case errors.Is(err, runtime.ErrNotRunning):
		return errdefs.New(errdefs.ErrConflict, err.Error())
	}
	return errdefs.New(errdefs.ErrUnavailable, err.Error())
}

func (s *agentSession) handleExecCreate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var cfg api.StreamExecConfig
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&cfg); err != nil || len(cfg.Cmd) == 0 {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, `bad exec: want {"cmd":["command","arg",...]}`))
		return
	}
	st, err := s.streamer(r, id, "exec interactively")
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	eid, err := st.ExecCreate(r.Context(), id, cfg)
	if err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	s.execs.add(eid, streamExec{drv: st, container: id, at: time.Now()})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.StreamExecCreated{ID: eid})
}

// exec is the exec r names, if this session made it.
func (s *agentSession) exec(r *http.Request) (streamExec, string, error) {
	eid := r.PathValue("eid")
	x, ok := s.execs.get(eid)
	if !ok {
		return x, eid, errdefs.New(errdefs.ErrNotFound, "no exec "+eid+" on this node")
	}
	return x, eid, nil
}

func (s *agentSession) handleExecStart(w http.ResponseWriter, r *http.Request) {
	x, eid, err := s.exec(r)
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	q := r.URL.Query()
	detach := q.Get("detach") == "1"
	st, err := x.drv.ExecStart(r.Context(), eid, q.Get("tty") == "1", detach)
	if err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	if detach {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.splice(w, r, st)
}

// terminalSize reads a resize's h and w: the terminal's rows and columns.
func terminalSize(r *http.Request) (h, w uint, err error) {
	hh, herr := strconv.ParseUint(r.URL.Query().Get("h"), 10, 16)
	ww, werr := strconv.ParseUint(r.URL.Query().Get("w"), 10, 16)
	if herr != nil || werr != nil {
		return 0, 0, errdefs.New(errdefs.ErrInvalid, "resize: want h and w, the terminal's rows and columns")
	}
	return uint(hh), uint(ww), nil
}

func (s *agentSession) handleExecResize(w http.ResponseWriter, r *http.Request) {
	x, eid, err := s.exec(r)
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	h, wd, err := terminalSize(r)
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	if err := x.drv.ExecResize(r.Context(), eid, h, wd); err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *agentSession) handleExecInspect(w http.ResponseWriter, r *http.Request) {
	x, eid, err := s.exec(r)
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	res, err := x.drv.ExecInspect(r.Context(), eid)
	if err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *agentSession) handleAttach(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := s.streamer(r, id, "attach")
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	q := r.URL.Query()
	opts := api.StreamAttach{Stream: q.Get("stream") == "1", Stdin: q.Get("stdin") == "1",
		Stdout: q.Get("stdout") == "1", Stderr: q.Get("stderr") == "1", Logs: q.Get("logs") == "1"}
	stream, tty, err := st.Attach(r.Context(), id, opts)
	if err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	if tty {
		w.Header().Set("X-Wharf-Tty", "1")
	}
	s.splice(w, r, stream)
}

// handleResize sets the terminal size of a container with a terminal.
func (s *agentSession) handleResize(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := s.streamer(r, id, "resize a container's terminal")
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	h, wd, err := terminalSize(r)
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	if err := st.Resize(r.Context(), id, h, wd); err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *agentSession) handleTop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := s.streamer(r, id, "list a container's processes")
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	res, err := st.Top(r.Context(), id, r.URL.Query().Get("ps_args"))
	if err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *agentSession) handleStats(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := s.streamer(r, id, "tell a container's resource use")
	if err != nil {
		errhttp.Write(w, err)
		return
	}
	body, err := st.Stats(r.Context(), id, r.URL.Query().Get("stream") == "1")
	if err != nil {
		errhttp.Write(w, driverErr(err))
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	_, _ = io.Copy(&flushWriter{w: w, rc: rc}, body)
}

// splice answers 101 on the session's stream, then copies the bytes of
// the server's stream and st both ways until st's output ends. The
// server's half-close ends st's input; the output's end closes both.
func (s *agentSession) splice(w http.ResponseWriter, r *http.Request, st runtime.Stream) {
	defer st.Close()
	h := w.Header()
	h.Set("Connection", "Upgrade")
	h.Set("Upgrade", api.AgentStreamUpgrade)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.a.log.Warn("cannot hijack a stream of the session", "err", err)
		return
	}
	defer conn.Close()
	if sid := r.Header.Get(api.AgentStreamHeader); sid != "" {
		s.streams.add(sid, func() { _ = st.Close(); _ = conn.Close() })
		defer func() { _ = s.streams.remove(sid) }()
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.AgentStreamUpgrade+"\r\n"+ttyLine(h)+"\r\n"); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	go copyIn(st, brw.Reader)
	_, _ = io.Copy(conn, st)
}

// copyIn copies the server's bytes to st's input, then closes the input.
func copyIn(st runtime.Stream, r *bufio.Reader) {
	_, _ = io.Copy(st, r)
	_ = st.CloseWrite()
}

func ttyLine(h http.Header) string {
	if h.Get("X-Wharf-Tty") == "1" {
		return "X-Wharf-Tty: 1\r\n"
	}
	return ""
}
