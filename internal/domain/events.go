package domain

import (
	"context"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// Events returns a page of at most limit stored events after cursor (0 for
// the default page size), oldest first; Next is the cursor to go on from
// when more follow. Only the actor's organization's events are in it;
// the others still move the cursor on. It refuses an actor without read
// access to apps, and a limit out of range.
func (d *Domain) Events(ctx context.Context, a Actor, cursor store.EventCursor, limit int) (api.List[api.Event], error) {
	out := api.List[api.Event]{Items: []api.Event{}}
	if err := a.need(AppsView); err != nil {
		return out, err
	}
	p := Page{Limit: limit}
	if err := p.check(); err != nil {
		return out, err
	}
	org := a.orgOf()
	for {
		evs, _, err := d.st.Events(ctx, cursor, p.Limit+1)
		if err != nil {
			return out, err
		}
		for _, ev := range evs {
			cursor = store.EventCursor{Rev: ev.ID, Seq: ev.Seq}
			if OrgName(ev.Org) != org {
				continue
			}
			if len(out.Items) == p.Limit {
				out.Next = out.Items[p.Limit-1].Cursor()
				return out, nil
			}
			out.Items = append(out.Items, ev)
		}
		if len(evs) <= p.Limit {
			return out, nil
		}
	}
}

// WatchEvents streams every stored event after cursor, then the live ones,
// without gap or duplicate, until ctx ends or the stream breaks (an item
// with Err, then the channel closes); only the actor's organization's
// events. It refuses an actor without read access to apps.
func (d *Domain) WatchEvents(ctx context.Context, a Actor, cursor store.EventCursor) (<-chan store.EventOrError, error) {
	if err := a.need(AppsView); err != nil {
		return nil, err
	}
	in := d.st.WatchEvents(ctx, cursor)
	out := make(chan store.EventOrError, 64)
	org := a.orgOf()
	go func() {
		defer close(out)
		for e := range in {
			if e.Err == nil && OrgName(e.Event.Org) != org {
				continue
			}
			select {
			case out <- e:
			case <-ctx.Done():
				// Drain, so the store's goroutine ends too.
				for range in {
				}
				return
			}
		}
	}()
	return out, nil
}
