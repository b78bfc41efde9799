package domain

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// Events returns a page of at most limit stored events after cursor (0 for
// the default page size), oldest first; Next is the cursor to go on from
// when more follow. It refuses an actor without read access to apps, and a
// limit out of range.
func (d *Domain) Events(ctx context.Context, a Actor, cursor store.EventCursor, limit int) (api.List[api.Event], error) {
	out := api.List[api.Event]{Items: []api.Event{}}
	if err := a.need(AppsView); err != nil {
		return out, err
	}
	p := Page{Limit: limit}
	if err := p.check(); err != nil {
		return out, err
	}
	evs, _, err := d.st.Events(ctx, cursor, p.Limit+1)
	if err != nil {
		return out, err
	}
	if evs != nil {
		out.Items = evs
	}
	if len(evs) > p.Limit {
		out.Items = evs[:p.Limit]
		out.Next = out.Items[p.Limit-1].Cursor()
	}
	return out, nil
}

// WatchEvents streams every stored event after cursor, then the live ones,
// without gap or duplicate, until ctx ends or the stream breaks (an item
// with Err, then the channel closes). It refuses an actor without read
// access to apps.
func (d *Domain) WatchEvents(ctx context.Context, a Actor, cursor store.EventCursor) (<-chan store.EventOrError, error) {
	if err := a.need(AppsView); err != nil {
		return nil, err
	}
	return d.st.WatchEvents(ctx, cursor), nil
}
