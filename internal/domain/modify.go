package domain

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// modify applies fn to a stored object and writes it back with
// compare-and-swap. With rev > 0 (the caller's If-Match) the object must be
// at that revision, else a conflict; with rev 0 a conflict with another
// writer is re-read and retried. fn returns the events to emit in the same
// transaction, or store.ErrNoChange to write nothing.
func modify[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, kind, what, id string, rev int64, fn func(PT) ([]api.Event, error)) (PT, error) {
	obj := PT(new(T))
	if rev == 0 {
		err := st.Modify(ctx, kind, id, obj, func() ([]api.Event, error) { return fn(obj) })
		if err != nil {
			return nil, explainWrite(err, what, id)
		}
		return obj, nil
	}
	if err := st.Get(ctx, kind, id, obj); err != nil {
		return nil, explainWrite(err, what, id)
	}
	if have := obj.GetMeta().Revision; have != rev {
		return nil, staleErr(what, id, rev, have)
	}
	events, err := fn(obj)
	if errors.Is(err, store.ErrNoChange) {
		return obj, nil
	}
	if err != nil {
		return nil, err
	}
	if err := st.Update(ctx, kind, obj, events...); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, newErr(errdefs.ErrConflict, "%s %q changed since revision %d; read it again and retry", what, id, rev)
		}
		return nil, explainWrite(err, what, id)
	}
	return obj, nil
}
