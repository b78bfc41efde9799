// Package errhttp is the one edge between Wharf's error kinds (errdefs) and
// HTTP: the table of statuses and wire codes (api.Code*), the JSON error
// body (api.ErrorBody) every Wharf HTTP endpoint answers with (the REST API
// and both directions of the agent protocol), and the reading of such a
// body back into an error of its kind. It knows no component: it never
// imports the store, the gateway or the agent.
package errhttp

import (
	"context"
	"errors"
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Errors of HTTP itself, with codes of their own.
var (
	// ErrTooLarge is a request body over the limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrMethodNotAllowed is a request with a method its path does not have.
	ErrMethodNotAllowed = errors.New("method not allowed")
)

// row is one line of the table: errors that are kind get status and code.
type row struct {
	kind    error
	status  int
	code    string
	message string // when set, sent instead of the error's own text
}

// table maps errors to statuses and wire codes, first match wins; reading
// an answer back, the first row of a code (or, for a body without one, of
// a status) gives the kind. Anything unmatched is a 500 whose details are
// not sent.
var table = []row{
	{errdefs.ErrInvalid, http.StatusBadRequest, api.CodeInvalid, ""},
	{errdefs.ErrUnauthorized, http.StatusUnauthorized, api.CodeUnauthorized, ""},
	{errdefs.ErrForbidden, http.StatusForbidden, api.CodeForbidden, ""},
	{errdefs.ErrNodeRemoved, http.StatusForbidden, api.CodeNodeRemoved, ""},
	{errdefs.ErrNotFound, http.StatusNotFound, api.CodeNotFound, ""},
	{errdefs.ErrConflict, http.StatusConflict, api.CodeConflict, ""},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, api.CodeTooLarge, ""},
	{errdefs.ErrTooManyRequests, http.StatusTooManyRequests, api.CodeTooManyRequests, ""},
	{errdefs.ErrUnavailable, http.StatusServiceUnavailable, api.CodeUnavailable, ""},
	{errdefs.ErrInsufficientStorage, http.StatusInsufficientStorage, api.CodeInsufficientStorage, ""},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, api.CodeMethod, ""},
	{errdefs.ErrNotImplemented, http.StatusNotImplemented, api.CodeNotImplemented, ""},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, api.CodeUnavailable, "the store did not answer in time; try again"},
}

// internalMessage is what a 500 says; the details belong in the log.
const internalMessage = "internal server error; the server log has the details"

// ToHTTP returns the status and the error detail to send for err.
func ToHTTP(err error) (int, api.ErrorDetail) {
	for _, r := range table {
		if !errors.Is(err, r.kind) {
			continue
		}
		d := api.ErrorDetail{Code: r.code, Message: err.Error()}
		if r.message != "" {
			d.Message = r.message
		}
		var fe *errdefs.FieldError
		if errors.As(err, &fe) {
			d.Field = fe.Field
		}
		return r.status, d
	}
	return http.StatusInternalServerError, api.ErrorDetail{Code: api.CodeInternal, Message: internalMessage}
}
