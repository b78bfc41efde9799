package ui

// The events page and its filter: kind, object (an ID or a name) and type
// from the query string, so a filtered list is a link and works without
// JavaScript. The live stream (sse.go) takes the same parameters, so a
// filtered page refreshes only for the events it shows.

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// eventFilter keeps the events that match every field set.
type eventFilter struct {
	Kind, Object, Type string
}

func eventFilterOf(q url.Values) eventFilter {
	return eventFilter{Kind: strings.TrimSpace(q.Get("kind")), Object: strings.TrimSpace(q.Get("object")), Type: strings.TrimSpace(q.Get("type"))}
}

// empty is whether the filter keeps every event.
func (f eventFilter) empty() bool { return f == eventFilter{} }

func (f eventFilter) match(e *api.Event) bool {
	return (f.Kind == "" || strings.EqualFold(e.Kind, f.Kind)) &&
		(f.Type == "" || strings.EqualFold(e.Type, f.Type)) &&
		(f.Object == "" || e.Object == f.Object || e.Name == f.Object)
}

// Query is the filter as a query string ("" or "?kind=…").
func (f eventFilter) Query() string {
	v := url.Values{}
	for k, s := range map[string]string{"kind": f.Kind, "object": f.Object, "type": f.Type} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

type eventsData struct {
	Filter eventFilter
	Kinds  []string
	Types  []string
	Events []api.Event
}

// The kinds and types the filter suggests (any other is accepted too).
var (
	eventKinds = []string{"service", "container", "node", "stack", "network", "secret", "token", "team", "org", "registry"}
	eventTypes = []string{"created", "updated", "deleted", "state"}
)

func (h *Handler) events(w http.ResponseWriter, r *http.Request, s *session) error {
	d := eventsData{Filter: eventFilterOf(r.URL.Query()), Kinds: eventKinds, Types: eventTypes}
	var keep func(*api.Event) bool
	if !d.Filter.empty() {
		keep = d.Filter.match
	}
	evs, err := h.recentEventsWhere(r.Context(), s.actor, 100, keep)
	if err != nil {
		return err
	}
	d.Events = evs
	h.render(w, r, http.StatusOK, "events", s, "Events", d)
	return nil
}
