package dockerapi

// audit.go records every changing Docker API call (any method but GET and
// HEAD) in Wharf's audit trail, as the REST API does its own: who (the
// certificate's token's name), the method and path as the client sent
// them, the object, the status and the error.

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// audited is whether a call with method is recorded.
func audited(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// auditWriter remembers the status a handler answered, and passes
// flushing and hijacking (attach, exec) through.
type auditWriter struct {
	http.ResponseWriter
	status int
}

func (w *auditWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush passes a streaming answer's flush on.
func (w *auditWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Hijack hands the connection over (attach, exec); the call is recorded
// as switching protocols.
func (w *auditWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientPath is the path as the client sent it, with its /vX.Y prefix.
func clientPath(r *http.Request) string {
	if v := r.Header.Get(apiVersionHeader); v != "" {
		return "/v" + v + r.URL.Path
	}
	return r.URL.Path
}

// pathKind is the first element of a path: "containers", "images"...
func pathKind(path string) string {
	kind, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return kind
}

// record writes the audit action of a call by a, through the domain layer,
// which owns the audit trail; msg is the error answered, if any.
func (s *Server) record(r *http.Request, a domain.Actor, w *auditWriter, note *domain.Note, start time.Time, msg string) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	act := api.Action{
		Who: a.Name, Method: r.Method, Path: clientPath(r), Kind: pathKind(r.URL.Path),
		Object: note.Object, Status: status, Result: "Success",
		Started: start.UTC(), Duration: time.Since(start).Seconds(),
	}
	if status >= 400 {
		act.Result, act.Error = "Failed", msg
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.d.RecordAction(ctx, a, act); err != nil {
		s.log.Warn("cannot record a Docker API call in the audit trail", "method", act.Method, "path", domain.ClipAction(act.Path), "who", act.Who, "err", err)
	}
}
