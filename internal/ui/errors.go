package ui

import (
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// The dashboard's own refusals; the domain layer's errors pass through as
// they are.
var (
	errNoDomain  = errors.New("ui: Config.Domain is required")
	errCrossSite = uiErr{errdefs.ErrForbidden, "this request came from another site; the dashboard only accepts forms it rendered itself: open the dashboard and use its form"}
	errNoCSRF    = uiErr{errdefs.ErrForbidden, "the form lacks its security token; reload the page and submit the form again"}
	errBadCSRF   = uiErr{errdefs.ErrForbidden, "the form's security token does not match this session (it was rendered for another session or before the server restarted); reload the page and submit it again"}
	errNotFound  = uiErr{errdefs.ErrNotFound, "no such page in the dashboard"}
)

// uiErr is an error of an errdefs kind with the dashboard's message.
type uiErr struct {
	kind error
	msg  string
}

func (e uiErr) Error() string { return e.msg }
func (e uiErr) Unwrap() error { return e.kind }

// invalid is a user's mistake in a form field.
func invalid(field, format string, args ...any) error {
	return errdefs.Invalid(field, format, args...)
}

// errf is an error of kind with a formatted message.
func errf(kind error, format string, args ...any) error {
	return uiErr{kind, fmt.Sprintf(format, args...)}
}
