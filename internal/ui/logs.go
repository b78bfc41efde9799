package ui

// Logs: a service's page shows the last lines of each of its containers
// (domain.ServiceLogs, each line prefixed with the container's name), a
// container's page those of that container alone (domain.ContainerLogs);
// both are filtered by a search, and the script then follows them through
// a server-sent event stream, a line an event.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The lines a logs page shows, and the most bytes it reads for them.
const (
	logTail     = 200
	maxLogBytes = 1 << 20
)

type logsData struct {
	logSource
	Q     string
	Lines []string
	Error string // the logs could not be read (shown on the page)
}

// logSource is whose logs a page shows: a service's, or one container's
// (Container set).
type logSource struct {
	ServiceID, ServiceName string
	ContainerID, Container string
	read                   func(ctx context.Context, follow bool, w io.Writer) error
}

// Title names the logs.
func (l logSource) Title() string {
	if l.Container != "" {
		return l.Container
	}
	return l.ServiceName
}

// Path is the logs page's.
func (l logSource) Path() string {
	if l.ContainerID != "" {
		return "/ui/containers/" + l.ContainerID + "/logs"
	}
	return "/ui/services/" + l.ServiceID + "/logs"
}

// logSourceOf reads the service or container the request names (its
// route says which) through the domain, as the actor.
func (h *Handler) logSourceOf(ctx context.Context, r *http.Request, s *session) (logSource, error) {
	id := r.PathValue("id")
	if strings.HasPrefix(r.URL.Path, "/ui/containers/") {
		c, err := h.d.GetContainer(ctx, s.actor, id)
		if err != nil {
			return logSource{}, err
		}
		src := logSource{ServiceID: c.Spec.Service, ServiceName: c.Spec.Service, ContainerID: c.ID, Container: c.Name}
		if svc, err := h.d.GetService(ctx, s.actor, c.Spec.Service); err == nil {
			src.ServiceName = svc.Name
		}
		src.read = func(ctx context.Context, follow bool, w io.Writer) error {
			return h.d.ContainerLogs(ctx, s.actor, c.ID, follow, logTail, w)
		}
		return src, nil
	}
	svc, err := h.d.GetService(ctx, s.actor, id)
	if err != nil {
		return logSource{}, err
	}
	return logSource{ServiceID: svc.ID, ServiceName: svc.Name, read: func(ctx context.Context, follow bool, w io.Writer) error {
		return h.d.ServiceLogs(ctx, s.actor, svc.ID, follow, logTail, w)
	}}, nil
}

// capped is a writer that keeps the first max bytes.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (h *Handler) logs(w http.ResponseWriter, r *http.Request, s *session) error {
	src, err := h.logSourceOf(r.Context(), r, s)
	if err != nil {
		return err
	}
	d := logsData{logSource: src, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	buf := &capped{max: maxLogBytes}
	if err := src.read(r.Context(), false, buf); err != nil {
		if forbidden(err) {
			return err
		}
		_, d.Error = statusOf(err)
	}
	for l := range strings.Lines(buf.String()) {
		if l = strings.TrimRight(l, "\r\n"); matches(l, d.Q) {
			d.Lines = append(d.Lines, l)
		}
	}
	h.render(w, r, http.StatusOK, "logs", s, src.Title()+" logs", d)
	return nil
}

func matches(line, q string) bool {
	return q == "" || strings.Contains(strings.ToLower(line), strings.ToLower(q))
}

// followLogs streams the service's or container's logs: the last lines,
// then new ones, each as an event "line", until the browser leaves or the
// logs end.
func (h *Handler) followLogs(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, cancel := contextUntil(r, h.stopCtx)
	defer cancel()
	src, err := h.logSourceOf(ctx, r, s)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	sw := &sseLines{w: w, rc: rc, q: strings.TrimSpace(r.URL.Query().Get("q"))}
	err = src.read(ctx, true, sw)
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.started {
		if err != nil {
			return err // nothing sent yet: an error page
		}
		sw.start()
	}
	if err != nil && ctx.Err() == nil {
		_, msg := statusOf(err)
		fmt.Fprintf(w, "event: failed\ndata: %s\n\n", strings.ReplaceAll(msg, "\n", " "))
	}
	fmt.Fprint(w, "event: end\ndata: {}\n\n")
	_ = rc.Flush()
	return nil
}

// sseLines turns a log stream into events, one a line; the headers go out
// when the domain layer opens the stream (its checks passed) or with the
// first line.
type sseLines struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	q       string
	partial []byte
	started bool
}

// OpenStream implements domain.StreamOpener.
func (s *sseLines) OpenStream() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.start()
		_ = s.rc.Flush()
	}
}

// CommitStream implements domain.StreamOpener.
func (s *sseLines) CommitStream() {}

func (s *sseLines) start() {
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
	fmt.Fprint(s.w, ": wharf logs\n\n")
}

func (s *sseLines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.start()
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(s.partial[:i]), "\r")
		s.partial = s.partial[i+1:]
		if !matches(line, s.q) {
			continue
		}
		if _, err := fmt.Fprintf(s.w, "event: line\ndata: %s\n\n", line); err != nil {
			return 0, err
		}
	}
	if len(s.partial) > 64<<10 { // a line without end: send what there is
		fmt.Fprintf(s.w, "event: line\ndata: %s\n\n", strings.ReplaceAll(string(s.partial), "\r", ""))
		s.partial = s.partial[:0]
	}
	return len(p), s.rc.Flush()
}
