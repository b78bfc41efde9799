package apiserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// page is a list request's ?limit= and ?cursor=.
type page struct {
	limit int
	after string
}

func parsePage(r *http.Request) (page, error) {
	p := page{limit: defaultLimit, after: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, errdefs.Invalid("limit", "must be an integer from 1 to %d, got %q", maxLimit, v)
		}
		p.limit = n
	}
	return p, nil
}

// domain is the page as the domain layer takes it.
func (p page) domain() domain.Page { return domain.Page{Limit: p.limit, After: p.after} }

// listPage reads one page of a kind, in ID order, keeping the objects keep
// accepts (keep may also edit them, e.g. to strip secrets). Next is set when
// more objects follow.
func listPage[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, kind string, p page, keep func(PT) bool) (api.List[T], error) {
	out := api.List[T]{Items: []T{}}
	opts := store.ListOptions{After: p.after, Limit: p.limit + 1}
	for {
		res, err := st.List(ctx, kind, opts)
		if err != nil {
			return out, err
		}
		for _, raw := range res.Items {
			opts.After = raw.ID
			v := PT(new(T))
			if err := raw.Decode(v); err != nil {
				return out, err
			}
			if keep != nil && !keep(v) {
				continue
			}
			if len(out.Items) == p.limit {
				out.Next = PT(&out.Items[len(out.Items)-1]).GetMeta().ID
				return out, nil
			}
			out.Items = append(out.Items, *v)
		}
		if !res.More {
			return out, nil
		}
		// Filtered lists read on, at the revision of the first read, so a
		// page is one consistent view.
		opts.Revision = res.Revision
	}
}

// listHandler serves a plain paged list of a kind.
func listHandler[T any, PT interface {
	*T
	store.Object
}](s *Server, kind string, keep func(PT) bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := parsePage(r)
		if err != nil {
			return err
		}
		if keep == nil {
			return writeRawList(r.Context(), w, s.st, kind, p)
		}
		l, err := listPage[T, PT](r.Context(), s.st, kind, p, keep)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l)
		return nil
	}
}

// modify applies fn to a stored object and writes it back with
// compare-and-swap. With rev > 0 (If-Match) the object must be at that
// revision, else 409; with rev 0 a conflict with another writer is re-read
// and retried. fn returns the events to emit in the same transaction, or
// store.ErrNoChange to write nothing.
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
