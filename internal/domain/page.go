package domain

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// Page bounds a list: at most Limit objects after the cursor After (an
// object ID; "" for the start), in ascending ID order, or descending with
// Reverse (After then names the object the page continues below; the
// lists whose IDs sort by time, such as the audit trail, are then newest
// first).
type Page struct {
	Limit   int
	After   string
	Reverse bool
}

// The page sizes lists allow.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// check fills in the default limit and refuses one out of range.
func (p *Page) check() error {
	switch {
	case p.Limit == 0:
		p.Limit = DefaultLimit
	case p.Limit < 1 || p.Limit > MaxLimit:
		return errdefs.Invalid("limit", "must be an integer from 1 to %d, got %d", MaxLimit, p.Limit)
	}
	return nil
}

// listPage reads one page of a kind, in ID order, keeping the objects keep
// accepts (keep may also edit them). Next is set when more objects follow.
func listPage[T any, PT interface {
	*T
	store.Object
}](ctx context.Context, st *store.Store, kind string, p Page, keep func(PT) bool) (api.List[T], error) {
	out := api.List[T]{Items: []T{}}
	if err := p.check(); err != nil {
		return out, err
	}
	opts := store.ListOptions{After: p.After, Limit: p.Limit + 1, Reverse: p.Reverse}
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
			if len(out.Items) == p.Limit {
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

// RawPage is a page of a kind whose stored form is its wire form, as the
// store holds it, for a front door that copies the JSON through without
// decoding it (see Domain.ListRaw).
type RawPage struct {
	Items []store.RawObject
	Next  string
	// Revision is the store revision the page was read at.
	Revision int64
	// memo holds the page's encoding while the page is cached (see
	// Encoded).
	memo *pageMemo
}
