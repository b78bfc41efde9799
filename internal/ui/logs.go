package ui

// A service's logs: the page shows the last lines of each of its
// containers (domain.ServiceLogs, each line prefixed with the container's
// name), filtered by a search; the script then follows them through a
// server-sent event stream, a line an event.

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
)

// The lines a logs page shows, and the most bytes it reads for them.
const (
	logTail     = 200
	maxLogBytes = 1 << 20
)

type logsData struct {
	Service *api.Service
	Q       string
	Lines   []string
	Error   string // the logs could not be read (shown on the page)
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
	svc, err := h.d.GetService(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := logsData{Service: svc, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	buf := &capped{max: maxLogBytes}
	if err := h.d.ServiceLogs(r.Context(), s.actor, svc.ID, false, logTail, buf); err != nil {
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
	h.render(w, r, http.StatusOK, "logs", s, svc.Name+" logs", d)
	return nil
}

func matches(line, q string) bool {
	return q == "" || strings.Contains(strings.ToLower(line), strings.ToLower(q))
}

// followLogs streams the service's logs: the last lines, then new ones,
// each as an event "line", until the browser leaves or the logs end.
func (h *Handler) followLogs(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, cancel := contextUntil(r, h.stopCtx)
	defer cancel()
	svc, err := h.d.GetService(ctx, s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	sw := &sseLines{w: w, rc: rc, q: strings.TrimSpace(r.URL.Query().Get("q"))}
	err = h.d.ServiceLogs(ctx, s.actor, svc.ID, true, logTail, sw)
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
