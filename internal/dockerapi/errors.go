package dockerapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// errorBody is Docker's error shape; the docker CLI prints its message.
type errorBody struct {
	Message string `json:"message"`
}

// statusOf maps an errdefs error to the status a Docker daemon would give.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errdefs.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, errdefs.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errdefs.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, errdefs.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errdefs.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, errdefs.ErrTooManyRequests):
		return http.StatusTooManyRequests
	case errors.Is(err, errdefs.ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, errdefs.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, errdefs.ErrInsufficientStorage):
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

// writeError answers err in Docker's shape and returns the message it
// sent. An error of no known kind is logged and answered 500 without its
// text, which may hold internals.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) string {
	status := statusOf(err)
	msg := err.Error()
	var rl *domain.RateLimitedError
	if errors.As(err, &rl) {
		status = http.StatusTooManyRequests
	}
	if status == http.StatusInternalServerError {
		s.log.Error("docker API call failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error in the Wharf server (logged there)"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Message: msg})
	return msg
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// notServed answers any call the endpoint does not serve: 501, naming what
// to use instead when there is something.
func notServed(_ http.ResponseWriter, r *http.Request, _ domain.Actor) error {
	return errdefs.New(errdefs.ErrNotImplemented, "Wharf's Docker endpoint does not serve "+r.Method+" "+r.URL.Path+": "+insteadOf(r.URL.Path))
}
