package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// The request errors of HTTP itself (internal/errhttp owns their codes).
var (
	errMethod   = errhttp.ErrMethodNotAllowed
	errTooLarge = errhttp.ErrTooLarge
)

// fail sends err as a JSON error, unless the response has already begun (a
// stream), in which case it can only be logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, d := errhttp.ToHTTP(err)
	info := infoOf(r)
	info.err = d.Message
	switch {
	case status == http.StatusInternalServerError && errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		info.err = "request cancelled by the client"
	case status == http.StatusInternalServerError:
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if sw, ok := w.(*statusWriter); ok && sw.started() {
		s.log.Warn("api request failed after its response began", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="wharf"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	errhttp.WriteDetail(w, status, d)
}

// writeJSON sends v with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func methodNotAllowed(methods []string) handlerFunc {
	ms := append([]string(nil), methods...)
	if slices.Contains(ms, http.MethodGet) {
		ms = append(ms, http.MethodHead)
	}
	allow := strings.Join(ms, ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return newErr(errMethod, "method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow)
	}
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return newErr(errdefs.ErrNotFound, "no such API path: %s", r.URL.Path)
}

// newErr makes a user-facing error of a kind (an errdefs sentinel): its
// text is the whole message, and errors.Is finds the kind.
func newErr(kind error, format string, args ...any) error {
	return errdefs.New(kind, fmt.Sprintf(format, args...))
}
