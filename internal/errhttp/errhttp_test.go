package errhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Every kind goes out with its status and code and comes back as itself.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
		field  string
	}{
		{errdefs.Invalid("name", "too long"), http.StatusBadRequest, api.CodeInvalid, "name"},
		{errdefs.New(errdefs.ErrUnauthorized, "no token"), http.StatusUnauthorized, api.CodeUnauthorized, ""},
		{fmt.Errorf("%w: not yours", errdefs.ErrForbidden), http.StatusForbidden, api.CodeForbidden, ""},
		{errdefs.New(errdefs.ErrNodeRemoved, "node n1 has been removed"), http.StatusForbidden, api.CodeNodeRemoved, ""},
		{errdefs.New(errdefs.ErrNotFound, "service \"web\" not found"), http.StatusNotFound, api.CodeNotFound, ""},
		{errdefs.New(errdefs.ErrConflict, "exists"), http.StatusConflict, api.CodeConflict, ""},
		{fmt.Errorf("body: %w", ErrTooLarge), http.StatusRequestEntityTooLarge, api.CodeTooLarge, ""},
		{errdefs.ErrTooManyRequests, http.StatusTooManyRequests, api.CodeTooManyRequests, ""},
		{errdefs.New(errdefs.ErrUnavailable, "etcd has no leader"), http.StatusServiceUnavailable, api.CodeUnavailable, ""},
		{errdefs.ErrInsufficientStorage, http.StatusInsufficientStorage, api.CodeInsufficientStorage, ""},
		{ErrMethodNotAllowed, http.StatusMethodNotAllowed, api.CodeMethod, ""},
		{errdefs.New(errdefs.ErrNotImplemented, "no exec"), http.StatusNotImplemented, api.CodeNotImplemented, ""},
	} {
		rec := httptest.NewRecorder()
		Write(rec, tc.err)
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%v: written %d %q", tc.err, rec.Code, rec.Header().Get("Content-Type"))
		}
		got := Read(rec.Result())
		var e *Error
		if !errors.As(got, &e) || e.Status != tc.status || e.Code != tc.code || e.Field != tc.field || e.Message != tc.err.Error() {
			t.Errorf("%v: read back as %#v, want %d %s field %q", tc.err, got, tc.status, tc.code, tc.field)
			continue
		}
		for _, kind := range []error{errdefs.ErrInvalid, errdefs.ErrForbidden, errdefs.ErrNodeRemoved, errdefs.ErrNotFound,
			errdefs.ErrConflict, errdefs.ErrUnavailable, errdefs.ErrNotImplemented} {
			if errors.Is(got, kind) != errors.Is(tc.err, kind) {
				t.Errorf("%v: read back, errors.Is(%v) = %v", tc.err, kind, errors.Is(got, kind))
			}
		}
	}
}

// An error of no kind is a 500 that keeps its details to the log; a
// deadline is a 503 that says the store was slow.
func TestInternalAndDeadline(t *testing.T) {
	status, d := ToHTTP(errors.New("open /var/lib/wharf/secret: permission denied"))
	if status != http.StatusInternalServerError || d.Code != api.CodeInternal || d.Message != internalMessage {
		t.Errorf("no kind: %d %+v", status, d)
	}
	status, d = ToHTTP(fmt.Errorf("list: %w", context.DeadlineExceeded))
	if status != http.StatusServiceUnavailable || d.Code != api.CodeUnavailable || d.Message != "the store did not answer in time; try again" {
		t.Errorf("deadline: %d %+v", status, d)
	}
}

// An answer that is not the JSON error body (from a peer of an earlier
// version) keeps its text and gets the kind of its status; a code this
// side does not know falls back to the status too.
func TestReadOtherForms(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body, msg string
		code      string
		kind      error
	}{
		{http.StatusNotFound, "no container c1 on this node\n", "no container c1 on this node", api.CodeNotFound, errdefs.ErrNotFound},
		{http.StatusConflict, "not running", "not running", api.CodeConflict, errdefs.ErrConflict},
		{http.StatusNotImplemented, "cannot exec", "cannot exec", api.CodeNotImplemented, errdefs.ErrNotImplemented},
		{http.StatusForbidden, "", "403 Forbidden", api.CodeForbidden, errdefs.ErrForbidden},
		{http.StatusServiceUnavailable, `{"error":{"code":"later_code","message":"m"}}`, "m", "later_code", errdefs.ErrUnavailable},
		{http.StatusBadGateway, "driver failed", "driver failed", api.CodeInternal, nil},
	} {
		err := Parse(tc.status, fmt.Sprintf("%d %s", tc.status, http.StatusText(tc.status)), []byte(tc.body))
		var e *Error
		if !errors.As(err, &e) || e.Message != tc.msg || e.Code != tc.code || e.Unwrap() != tc.kind {
			t.Errorf("%d %q: %#v", tc.status, tc.body, err)
		}
	}
}
