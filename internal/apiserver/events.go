package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/store"
)

// events serves GET /v1/events: a page of stored events after ?since=, or,
// with ?stream=1 or Accept: text/event-stream, a Server-Sent Events stream
// of every event after the cursor (or the Last-Event-ID header, which wins,
// so a reconnecting client resumes where it was), then live ones.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	stream := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if v := q.Get("stream"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errdefs.Invalid("stream", "must be 1 or 0, got %q", v)
		}
		stream = b
	}
	field, since := "since", q.Get("since")
	if since == "" {
		field, since = "cursor", q.Get("cursor")
	}
	if id := r.Header.Get("Last-Event-ID"); stream && id != "" {
		field, since = "Last-Event-ID", id
	}
	cur, err := store.ParseEventCursor(since)
	if err != nil {
		return errdefs.Invalid(field, "%v", err)
	}
	if stream {
		return s.streamEvents(w, r, cur)
	}
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	out, err := s.d.Events(r.Context(), actorOf(r), cur, p.limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// streamEvents writes "id: <cursor>" and "data: <event JSON>" per event and
// a comment line every heartbeat, until the client leaves. store.WatchEvents
// makes the stored and the live part meet without gap or duplicate.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, cur store.EventCursor) error {
	ctx := r.Context()
	ch, err := s.d.WatchEvents(ctx, actorOf(r), cur)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": wharf events\n\n"); err != nil {
		return nil
	}
	_ = rc.Flush()
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
		case item, ok := <-ch:
			if !ok {
				return nil
			}
			if item.Err != nil {
				s.log.Warn("event stream ended", "err", item.Err)
				_, d := errhttp.ToHTTP(newErr(errdefs.ErrUnavailable, "the event stream broke; reconnect with Last-Event-ID"))
				b, _ := json.Marshal(api.ErrorBody{Error: d})
				_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
				_ = rc.Flush()
				return nil
			}
			b, err := json.Marshal(item.Event)
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "id: %s\ndata: %s\n\n", item.Event.Cursor(), b); err != nil {
				return nil
			}
			if len(ch) > 0 {
				continue // more are waiting: flush once after them
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
