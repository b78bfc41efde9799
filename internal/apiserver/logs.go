package apiserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// logParams reads ?follow= and ?tail= (tail 0, absent or "all": every line).
func logParams(r *http.Request) (follow bool, tail int, err error) {
	q := r.URL.Query()
	if v := q.Get("follow"); v != "" {
		if follow, err = strconv.ParseBool(v); err != nil {
			return false, 0, errdefs.Invalid("follow", "must be 1 or 0 (true or false), got %q", v)
		}
	}
	if v := q.Get("tail"); v != "" && v != "all" {
		if tail, err = strconv.Atoi(v); err != nil || tail < 0 {
			return false, 0, errdefs.Invalid("tail", "must be a number of lines (0 or \"all\" for every line), got %q", v)
		}
	}
	return follow, tail, nil
}

// containerLogs serves GET /v1/containers/{id}/logs as text/plain.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	follow, tail, err := logParams(r)
	if err != nil {
		return err
	}
	sw := s.newStreamWriter(w, follow)
	err = s.d.ContainerLogs(r.Context(), actorOf(r), r.PathValue("id"), follow, tail, sw)
	return sw.end(r, err)
}

// serviceLogs serves GET /v1/services/{id}/logs: the logs of all the
// service's placed containers, each line prefixed "<container name> | "
// (see domain.ServiceLogs). When some containers' logs fail after others
// were served, the answer is a 200 with the failures in the trailer.
func (s *Server) serviceLogs(w http.ResponseWriter, r *http.Request) error {
	follow, tail, err := logParams(r)
	if err != nil {
		return err
	}
	sw := s.newStreamWriter(w, follow)
	err = s.d.ServiceLogs(r.Context(), actorOf(r), r.PathValue("id"), follow, tail, sw)
	return sw.end(r, err)
}

// streamWriter sends a flushed text stream. Its headers go out with the
// first byte, so a failure before any output is still a JSON error; for a
// followed stream they go out a moment after the domain layer opened it
// (its checks passed) anyway, so a client sees the stream open. It is a
// domain.StreamOpener.
type streamWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	follow  bool
	delay   time.Duration
	timer   *time.Timer
	started bool
	closed  bool
	err     error
}

func (s *Server) newStreamWriter(w http.ResponseWriter, follow bool) *streamWriter {
	return &streamWriter{w: w, rc: http.NewResponseController(w), follow: follow, delay: s.logStart}
}

// OpenStream starts the timer that sends a followed stream's headers.
func (sw *streamWriter) OpenStream() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.follow && sw.timer == nil && !sw.closed {
		sw.timer = time.AfterFunc(sw.delay, sw.start)
	}
}

// CommitStream sends the headers now: some logs were served, so the answer
// is a 200 and a later error goes in the trailer.
func (sw *streamWriter) CommitStream() { sw.start() }

func (sw *streamWriter) Write(p []byte) (int, error) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed {
		return 0, io.ErrClosedPipe
	}
	if sw.err != nil {
		return 0, sw.err
	}
	sw.startLocked()
	n, err := sw.w.Write(p)
	if err == nil {
		err = sw.flushLocked()
	}
	sw.err = err
	return n, err
}

// start sends the headers now.
func (sw *streamWriter) start() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.closed && !sw.started {
		sw.startLocked()
		sw.err = sw.flushLocked()
	}
}

func (sw *streamWriter) startLocked() {
	if sw.started {
		return
	}
	sw.started = true
	h := sw.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	sw.w.WriteHeader(http.StatusOK)
}

func (sw *streamWriter) flushLocked() error {
	if err := sw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// end closes the stream after the log source returned err. Before any
// output an error is returned for the handler to send; after, it can only
// go in the X-Wharf-Error trailer.
func (sw *streamWriter) end(r *http.Request, err error) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.timer != nil {
		sw.timer.Stop()
	}
	sw.closed = true
	if r.Context().Err() != nil {
		return nil // the client left
	}
	if err != nil && !sw.started {
		return err
	}
	if err != nil {
		sw.w.Header().Set(http.TrailerPrefix+"X-Wharf-Error", strings.ReplaceAll(err.Error(), "\n", " "))
		return nil
	}
	sw.startLocked()
	return nil
}
