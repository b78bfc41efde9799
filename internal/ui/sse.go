package ui

// The live event stream the pages' script follows: the domain layer's
// events of the actor's organization (domain.WatchEvents), each sent as
// what changed (kind, object, name, state) for the script to refresh the
// parts of the page that show it. The session is authenticated again at
// every heartbeat, so a stream ends soon after its token is deleted. The
// query parameters kind, object and type keep only the events that match
// (the events page's filter).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// change is what the stream sends per event.
type change struct {
	Kind    string `json:"kind"`
	Object  string `json:"object"`
	Name    string `json:"name,omitempty"`
	Type    string `json:"type"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
}

func (h *Handler) signedInStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		secret, _ := sessionOf(r)
		if secret == "" {
			h.toLogin(w, r)
			return
		}
		a, err := h.authenticate(r, secret)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		filter := eventFilterOf(r.URL.Query()) // the events page's filter
		ctx, cancel := contextUntil(r, h.stopCtx)
		defer cancel()
		ch, err := h.d.WatchEvents(ctx, a, store.EventsNow)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
		hd := w.Header()
		hd.Set("Content-Type", "text/event-stream")
		hd.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if _, err := fmt.Fprint(w, "retry: 3000\n: wharf dashboard events\n\n"); err != nil {
			return
		}
		_ = rc.Flush()
		tick := time.NewTicker(h.cfg.Heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := h.d.Authenticate(ctx, secret, a.Org); err != nil {
					_, _ = fmt.Fprint(w, "event: signedout\ndata: {}\n\n")
					_ = rc.Flush()
					return
				}
				if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
					return
				}
			case item, ok := <-ch:
				if !ok || item.Err != nil {
					return // the browser reconnects
				}
				e := item.Event
				if !filter.match(&e) {
					continue
				}
				b, _ := json.Marshal(change{Kind: e.Kind, Object: e.Object, Name: e.Name, Type: e.Type, State: e.State, Message: e.Message})
				if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", b); err != nil {
					return
				}
				if len(ch) > 0 {
					continue // more are waiting: flush once after them
				}
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
}
