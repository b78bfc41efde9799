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

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// errMethod is a request with a method its path does not have.
var errMethod = errors.New("method not allowed")

// errTooLarge is a request body over the limit.
var errTooLarge = errors.New("request body too large")

// mapping is one row of the error table.
type mapping struct {
	match   func(error) bool
	status  int
	code    string
	message string // when set, sent instead of the error's own text
}

// errorTable maps errors to statuses and wire codes, first match wins.
// Anything unmatched is a 500 whose details go to the log only.
var errorTable = []mapping{
	{func(err error) bool { return errors.Is(err, errdefs.ErrInvalid) }, http.StatusBadRequest, api.CodeInvalid, ""},
	{func(err error) bool { return errors.Is(err, errdefs.ErrUnauthorized) }, http.StatusUnauthorized, api.CodeUnauthorized, ""},
	{func(err error) bool { return errors.Is(err, errdefs.ErrForbidden) }, http.StatusForbidden, api.CodeForbidden, ""},
	{errdefs.IsNotFound, http.StatusNotFound, api.CodeNotFound, ""},
	{errdefs.IsConflict, http.StatusConflict, api.CodeConflict, ""},
	{func(err error) bool { return errors.Is(err, errTooLarge) }, http.StatusRequestEntityTooLarge, api.CodeTooLarge, ""},
	{func(err error) bool { return errors.Is(err, errdefs.ErrTooManyRequests) }, http.StatusTooManyRequests, api.CodeTooManyRequests, ""},
	{errdefs.IsUnavailable, http.StatusServiceUnavailable, api.CodeUnavailable, ""},
	{func(err error) bool { return errors.Is(err, errdefs.ErrInsufficientStorage) }, http.StatusInsufficientStorage, api.CodeInsufficientStorage, ""},
	{func(err error) bool { return errors.Is(err, errMethod) }, http.StatusMethodNotAllowed, api.CodeMethod, ""},
	{func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }, http.StatusServiceUnavailable, api.CodeUnavailable,
		"the store did not answer in time; try again"},
}

// toHTTP turns an error into a status and the error body to send.
func toHTTP(err error) (int, api.ErrorDetail) {
	for _, m := range errorTable {
		if m.match(err) {
			d := api.ErrorDetail{Code: m.code, Message: err.Error()}
			if m.message != "" {
				d.Message = m.message
			}
			var fe *errdefs.FieldError
			if errors.As(err, &fe) {
				d.Field = fe.Field
			}
			return m.status, d
		}
	}
	return http.StatusInternalServerError, api.ErrorDetail{Code: api.CodeInternal, Message: "internal server error; the server log has the details"}
}

// fail sends err as a JSON error, unless the response has already begun (a
// stream), in which case it can only be logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, d := toHTTP(err)
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
	writeJSON(w, status, api.ErrorBody{Error: d})
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

// notFoundErr says which object does not exist.
func notFoundErr(kind, ref string) error {
	return newErr(errdefs.ErrNotFound, "%s %q not found", kind, ref)
}

// explainWrite turns the store's errors for a write of one object into
// messages that name the object instead of an etcd key.
func explainWrite(err error, kind, ref string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return notFoundErr(kind, ref)
	case errors.Is(err, store.ErrConflict):
		return newErr(errdefs.ErrConflict, "%s %q changed while this request was writing it; read it again and retry", kind, ref)
	}
	return err
}

// msgError is a sentinel with a message for the user: its text is the whole
// message, and errors.Is finds the sentinel.
type msgError struct {
	kind error
	msg  string
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.kind }

// newErr makes a user-facing error of a kind (an errdefs sentinel).
func newErr(kind error, format string, args ...any) error {
	return &msgError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
