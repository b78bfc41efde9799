package ui

// Reading whole lists through the domain layer's pages, for pages that
// show, count or filter everything the actor may see.

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// maxPages bounds a whole-list read (at domain.MaxLimit a page).
const maxPages = 50

// allOf reads every page of a typed list.
func allOf[T any](list func(p domain.Page) (api.List[T], error)) ([]T, error) {
	var out []T
	p := domain.Page{Limit: domain.MaxLimit}
	for range maxPages {
		l, err := list(p)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.Next == "" {
			break
		}
		p.After = l.Next
	}
	return out, nil
}

func (h *Handler) allServices(ctx context.Context, a domain.Actor, stack string) ([]api.Service, error) {
	return allOf(func(p domain.Page) (api.List[api.Service], error) { return h.d.ListServices(ctx, a, stack, p) })
}

func (h *Handler) allContainers(ctx context.Context, a domain.Actor, service, node string) ([]api.Container, error) {
	return allOf(func(p domain.Page) (api.List[api.Container], error) {
		return h.d.ListContainers(ctx, a, service, node, p)
	})
}

func (h *Handler) allStacks(ctx context.Context, a domain.Actor) ([]api.Stack, error) {
	return allOf(func(p domain.Page) (api.List[api.Stack], error) { return h.d.ListStacks(ctx, a, p) })
}

// allNodes reads every node the actor may see (the domain layer hands
// nodes out as stored; their stored form is their wire form).
func (h *Handler) allNodes(ctx context.Context, a domain.Actor) ([]api.Node, error) {
	return allOf(func(p domain.Page) (api.List[api.Node], error) {
		raw, err := h.d.ListNodes(ctx, a, p)
		if err != nil {
			return api.List[api.Node]{}, err
		}
		out := api.List[api.Node]{Items: make([]api.Node, len(raw.Items)), Next: raw.Next}
		for i, o := range raw.Items {
			if err := o.Decode(&out.Items[i]); err != nil {
				return out, err
			}
		}
		return out, nil
	})
}

// recentEvents is the latest n events of the actor's organization, newest
// first. Events are listed oldest first from a cursor, so it reads a
// window back from the store's current revision, widening it until it
// holds n or reaches the start.
func (h *Handler) recentEvents(ctx context.Context, a domain.Actor, n int) ([]api.Event, error) {
	return h.recentEventsWhere(ctx, a, n, nil)
}

// recentEventsWhere is the latest n events that keep accepts (all when
// keep is nil), newest first.
func (h *Handler) recentEventsWhere(ctx context.Context, a domain.Actor, n int, keep func(*api.Event) bool) ([]api.Event, error) {
	_, now, err := h.d.Store().Events(ctx, store.EventsNow, 0) // the revision alone; no event is read
	if err != nil {
		return nil, err
	}
	for back := int64(512); ; back *= 8 {
		from := max(now-back, 0)
		var evs []api.Event
		cur := store.EventCursor{Rev: from}
		for range maxPages {
			l, err := h.d.Events(ctx, a, cur, domain.MaxLimit)
			if err != nil {
				return nil, err
			}
			for i := range l.Items {
				if keep == nil || keep(&l.Items[i]) {
					evs = append(evs, l.Items[i])
				}
			}
			if len(evs) > 4*n {
				evs = evs[len(evs)-n:]
			}
			if l.Next == "" {
				break
			}
			if cur, err = store.ParseEventCursor(l.Next); err != nil {
				return nil, err
			}
		}
		if len(evs) >= n || from == 0 {
			evs = evs[max(len(evs)-n, 0):]
			for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
				evs[i], evs[j] = evs[j], evs[i]
			}
			return evs, nil
		}
	}
}

// forbidden is whether err is the domain layer refusing the actor: a page
// then leaves that part out instead of failing.
func forbidden(err error) bool { return errors.Is(err, errdefs.ErrForbidden) }
