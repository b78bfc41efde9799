// Package errdefs is Wharf's small error vocabulary. Components wrap these
// sentinels with %w (or make errors of a kind with New) and decide with
// errors.Is; internal/errhttp maps the kinds to HTTP statuses and wire codes
// in one table. It is a leaf: it never imports a package of Wharf's, so that
// every component (the store included) can define its errors in its terms.
package errdefs

import (
	"errors"
	"fmt"
)

// Sentinels: the kinds of error. A component's own errors count as one of
// these (store.ErrNotFound is a NotFound, store.ErrConflict and
// store.ErrExists are Conflicts, store.ErrUnavailable is Unavailable).
var (
	ErrInvalid      = errors.New("invalid")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnavailable  = errors.New("unavailable")
	// ErrTooManyRequests: the caller's source failed to authenticate too
	// often and is refused for a while.
	ErrTooManyRequests = errors.New("too many requests")
	// ErrInsufficientStorage: the server's disk is too full to take a write.
	ErrInsufficientStorage = errors.New("insufficient storage")
	// ErrNotImplemented: the component cannot do this at all (an agent's
	// driver that cannot exec).
	ErrNotImplemented = errors.New("not implemented")
	// ErrNodeRemoved: the calling agent's node no longer exists (or is
	// Terminated); its agent must stop for good.
	ErrNodeRemoved = errors.New("node removed")
)

// kindError is an error with a message of its own that counts as a kind.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// New returns an error whose text is msg and which counts as kind (an
// errdefs sentinel, or an error that counts as one): errors.Is(err, kind).
// Each call makes a distinct error, so New also defines sentinels of a
// component's own, as the store's.
func New(kind error, msg string) error { return &kindError{kind: kind, msg: msg} }

// FieldError is a user's mistake in one named field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Is makes a FieldError count as ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a FieldError for field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsUnavailable reports whether err means a dependency (the store, a node)
// cannot serve now and the call may be retried later.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsConflict reports whether err means a conflicting write.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }
