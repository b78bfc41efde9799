// Package errdefs is Wharf's small error vocabulary. Components wrap these
// sentinels with %w and decide with errors.Is; the API server maps them to
// HTTP statuses and wire codes in one table. It never imports a component.
package errdefs

import (
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
)

// Sentinels. Store errors (store.ErrNotFound, store.ErrConflict,
// store.ErrExists, store.ErrUnavailable) count as NotFound, Conflict and
// Unavailable too.
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
)

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
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, store.ErrNotFound)
}

// IsUnavailable reports whether err means a dependency (the store, a node)
// cannot serve now and the call may be retried later.
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, store.ErrUnavailable)
}

// IsConflict reports whether err means a conflicting write.
func IsConflict(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists)
}
