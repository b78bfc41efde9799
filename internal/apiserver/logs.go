package apiserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
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

func (s *Server) logSource() (LogSource, error) {
	if s.cfg.Logs == nil {
		return nil, newErr(errdefs.ErrUnavailable, "this server cannot fetch container logs")
	}
	return s.cfg.Logs, nil
}

// containerLogs serves GET /v1/containers/{id}/logs as text/plain.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	follow, tail, err := logParams(r)
	if err != nil {
		return err
	}
	c, err := s.resolveContainer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Spec.Node == "" {
		return newErr(errdefs.ErrConflict, "container %s is not placed on a node yet, so it has no logs", containerLabel(c))
	}
	src, err := s.logSource()
	if err != nil {
		return err
	}
	sw := s.newStreamWriter(w, follow)
	err = src.ContainerLogs(r.Context(), c, follow, tail, sw)
	return sw.end(r, err)
}

// serviceLogs serves GET /v1/services/{id}/logs: the logs of all the
// service's placed containers, each line prefixed "<container name> | ".
// With follow, lines of all containers interleave as they come, and the
// containers that start while the stream is open (a redeploy, a scale-up,
// a replacement after node loss) join it; it ends when the client leaves
// or the service is removed.
func (s *Server) serviceLogs(w http.ResponseWriter, r *http.Request) error {
	follow, tail, err := logParams(r)
	if err != nil {
		return err
	}
	svc, err := s.resolveService(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	all, rev, err := store.ListAll[api.Container](r.Context(), s.st, store.KindContainers)
	if err != nil {
		return err
	}
	var placed []*api.Container
	unplaced := 0
	for _, c := range all {
		switch {
		case c.Spec.Service != svc.ID:
		case c.Spec.Node == "":
			unplaced++
		default:
			placed = append(placed, c)
		}
	}
	if len(placed) == 0 && unplaced > 0 && !follow {
		return newErr(errdefs.ErrConflict, "none of service %s's containers is placed on a node yet, so there are no logs", svc.Name)
	}
	slices.SortFunc(placed, func(a, b *api.Container) int { return a.Spec.Slot - b.Spec.Slot })
	var src LogSource
	if len(placed) > 0 || follow {
		if src, err = s.logSource(); err != nil {
			return err
		}
	}
	// ctx ends every follower when the client leaves or, with follow,
	// when the service is removed.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	f := &logFan{src: src, out: s.newStreamWriter(w, follow), follow: follow, seen: map[string]bool{}}
	for _, c := range placed {
		f.add(ctx, c, tail)
	}
	if follow {
		s.followNewContainers(ctx, cancel, f, svc.ID, rev)
	}
	f.wg.Wait()
	if len(f.failed) == 0 {
		return f.out.end(r, nil)
	}
	if len(f.failed) < len(placed) {
		f.out.start() // some containers' logs were served: a 200, with the rest in the trailer
	}
	return f.out.end(r, errdefs.New(f.first, "logs of "+strings.Join(f.failed, "; ")))
}

// logFan streams the logs of several containers into one stream.
type logFan struct {
	src    LogSource
	out    *streamWriter
	follow bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   map[string]bool // container IDs followed
	first  error
	failed []string // "<container>: <error>"
}

// add streams c's logs unless they already are. Without follow, a failure
// is kept for the end of the response; with follow it is a line in the
// stream at once, since the stream may stay open long after.
func (f *logFan) add(ctx context.Context, c *api.Container, tail int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[c.ID] {
		return
	}
	f.seen[c.ID] = true
	f.wg.Go(func() {
		lw := &lineWriter{prefix: containerLabel(c) + " | ", out: f.out}
		err := f.src.ContainerLogs(ctx, c, f.follow, tail, lw)
		lw.flush()
		if err == nil || ctx.Err() != nil {
			return
		}
		if f.follow {
			_ = lw.emit([]byte("wharf: its logs ended: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.first == nil {
			f.first = err
		}
		f.failed = append(f.failed, containerLabel(c)+": "+err.Error())
	})
}

// followNewContainers adds to f every container of the service that starts
// on a node after revision rev, until ctx ends or the service is removed;
// then it calls cancel, which ends every follower.
func (s *Server) followNewContainers(ctx context.Context, cancel context.CancelFunc, f *logFan, svcID string, rev int64) {
	f.wg.Go(func() {
		defer cancel()
		for ctx.Err() == nil {
			for b := range s.st.Watch(ctx, rev, store.KindContainers, store.KindServices) {
				if b.Err != nil {
					break
				}
				rev = b.Revision
				for _, ch := range b.Changes {
					if ch.Kind == store.KindServices {
						if ch.ID == svcID && ch.Deleted {
							return
						}
						continue
					}
					var c api.Container
					if ch.Deleted || ch.Decode(&c) != nil || !startedFor(&c, svcID) {
						continue
					}
					f.add(ctx, &c, 0)
				}
			}
			// The watch ended (compacted, or the store went away for a
			// moment): list again and go on from there.
			all, at, err := store.ListAll[api.Container](ctx, s.st, store.KindContainers)
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			var svc api.Service
			if err := s.st.Get(ctx, store.KindServices, svcID, &svc); errors.Is(err, store.ErrNotFound) {
				return // removed while the watch was down
			}
			for _, c := range all {
				if startedFor(c, svcID) {
					f.add(ctx, c, 0)
				}
			}
			rev = at
		}
	})
}

// startedFor reports whether c is a container of service svcID that its
// node has started, so that it has logs to follow.
func startedFor(c *api.Container, svcID string) bool {
	st := c.Status.State
	return c.Spec.Service == svcID && c.Spec.Node != "" && c.Spec.Desired != api.ContainerTerminated &&
		st != "" && st != api.ContainerPending
}

// streamWriter sends a flushed text stream. Its headers go out with the
// first byte, so a failure before any output is still a JSON error; for a
// followed stream they go out after a moment anyway, so a client sees the
// stream open.
type streamWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	timer   *time.Timer
	started bool
	closed  bool
	err     error
}

func (s *Server) newStreamWriter(w http.ResponseWriter, follow bool) *streamWriter {
	sw := &streamWriter{w: w, rc: http.NewResponseController(w)}
	if follow {
		sw.timer = time.AfterFunc(s.logStart, sw.start)
	}
	return sw
}

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
	if sw.timer != nil {
		sw.timer.Stop()
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
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

// maxLine is the longest line a lineWriter keeps before it breaks it.
const maxLine = 64 << 10

// lineWriter prefixes every line and writes each whole line at once, so
// the lines of several containers interleave but never mix.
type lineWriter struct {
	prefix string
	out    io.Writer
	buf    []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 && len(lw.buf) < maxLine {
			return len(p), nil
		}
		var line []byte
		if i < 0 {
			line, lw.buf = append(lw.buf[:maxLine:maxLine], '\n'), lw.buf[maxLine:]
		} else {
			line, lw.buf = lw.buf[:i+1], lw.buf[i+1:]
		}
		if err := lw.emit(line); err != nil {
			return 0, err
		}
		if len(lw.buf) == 0 {
			lw.buf = nil
		}
	}
}

func (lw *lineWriter) emit(line []byte) error {
	b := make([]byte, 0, len(lw.prefix)+len(line))
	_, err := lw.out.Write(append(append(b, lw.prefix...), line...))
	return err
}

// flush writes what is left of an unterminated last line.
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		_ = lw.emit(append(lw.buf, '\n'))
		lw.buf = nil
	}
}
