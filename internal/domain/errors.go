package domain

import (
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// newErr makes a user-facing error of a kind (an errdefs sentinel): its
// text is the whole message, and errors.Is finds the kind.
func newErr(kind error, format string, args ...any) error {
	return errdefs.New(kind, fmt.Sprintf(format, args...))
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

// staleErr says a client's revision is out of date.
func staleErr(kind, ref string, want, have int64) error {
	return newErr(errdefs.ErrConflict, "%s %q is at revision %d, not %d: it changed since you read it; read it again and retry", kind, ref, have, want)
}
