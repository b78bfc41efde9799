package agent

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
)

// handleExec runs a command in a container through its driver and answers
// with the output and exit code (POST /agent/v1/containers/{id}/exec).
func (s *agentSession) handleExec(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req api.ExecRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || len(req.Cmd) == 0 {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, `bad exec request: want {"cmd":["command","arg",...]}`))
		return
	}
	drv := s.a.exec.driverOf(r.Context(), id)
	if drv == nil {
		errhttp.Write(w, errNoContainer(id))
		return
	}
	ex, ok := drv.(runtime.Execer)
	if !ok {
		errhttp.Write(w, errdefs.New(errdefs.ErrNotImplemented, "the "+drv.Name()+" driver cannot run commands in containers yet"))
		return
	}
	out := &capped{max: api.MaxExecOutput}
	code, err := ex.Exec(r.Context(), id, req.Cmd, out)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		errhttp.Write(w, errdefs.New(errdefs.ErrNotFound, err.Error()))
		return
	case errors.Is(err, runtime.ErrNotRunning):
		errhttp.Write(w, errdefs.New(errdefs.ErrConflict, err.Error()))
		return
	case err != nil:
		// The driver failed (its engine down, say): the node cannot serve
		// this now, and the gateway should see why.
		errhttp.Write(w, errdefs.New(errdefs.ErrUnavailable, err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.ExecResult{ExitCode: code, Output: out.String()})
}

// errNoContainer is the answer about a container no driver of this node has.
func errNoContainer(id string) error {
	return errdefs.New(errdefs.ErrNotFound, "no container "+id+" on this node")
}

// capped keeps the first max bytes written and notes that more came.
type capped struct {
	max   int
	buf   []byte
	extra bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - len(c.buf)
	if len(p) > room {
		c.buf = append(c.buf, p[:max(room, 0)]...)
		c.extra = true
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *capped) String() string {
	if c.extra {
		return string(c.buf) + "\n[output truncated]\n"
	}
	return string(c.buf)
}
