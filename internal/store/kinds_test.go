package store

import (
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// The store's errors count as errdefs kinds, so that the edges map them
// without knowing the store; each stays its own error for the store's
// callers, and a kind does not count as a store error.
func TestErrorsAreErrdefsKinds(t *testing.T) {
	for _, tc := range []struct {
		err, kind error
	}{
		{ErrNotFound, errdefs.ErrNotFound},
		{ErrExists, errdefs.ErrConflict},
		{ErrConflict, errdefs.ErrConflict},
		{ErrUnavailable, errdefs.ErrUnavailable},
		{wrapEtcd(rpctypes.ErrNoLeader), errdefs.ErrUnavailable},
	} {
		wrapped := fmt.Errorf("write node n1: %w", tc.err)
		if !errors.Is(wrapped, tc.kind) || !errors.Is(wrapped, tc.err) {
			t.Errorf("%v: not of kind %v", tc.err, tc.kind)
		}
		if errors.Is(tc.kind, tc.err) {
			t.Errorf("errdefs %v counts as the store's %v", tc.kind, tc.err)
		}
	}
	if errors.Is(ErrExists, ErrConflict) || errors.Is(ErrConflict, ErrExists) || errors.Is(ErrNotFound, errdefs.ErrConflict) {
		t.Error("store errors are not distinct")
	}
	for _, err := range []error{ErrCompacted, ErrTooManyOps, ErrUsedUp, ErrNoChange} {
		for _, kind := range []error{errdefs.ErrNotFound, errdefs.ErrConflict, errdefs.ErrUnavailable, errdefs.ErrInvalid} {
			if errors.Is(err, kind) {
				t.Errorf("%v counts as %v", err, kind)
			}
		}
	}
}
