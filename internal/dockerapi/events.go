package dockerapi

// events.go is GET /events: Wharf's event stream (domain.Events and
// WatchEvents) in Docker's event format, with --since, --until and
// --filter, each container's node in its attributes as Swarm classic put
// it there.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// eventMessage is events.Message with the fields clients of API 1.21 and
// earlier read (docker-py still reads "status" and "id").
type eventMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	events.Message
}

// eventFilterKeys are the --filter keys /events takes.
var eventFilterKeys = []string{"type", "container", "event", "label", "node", "image"}

// parseEventTime reads since/until as the docker CLI sends them: Unix
// seconds with an optional fraction ("1700000000.000000000"), or RFC 3339.
func parseEventTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if secs, frac, _ := strings.Cut(v, "."); secs != "" {
		if s, err := strconv.ParseInt(secs, 10, 64); err == nil {
			var ns int64
			if frac != "" {
				f := (frac + "000000000")[:9]
				if ns, err = strconv.ParseInt(f, 10, 64); err != nil {
					return time.Time{}, errdefs.Invalid(name, "%s %q is not a time: want Unix seconds or RFC 3339", name, v)
				}
			}
			return time.Unix(s, ns), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errdefs.Invalid(name, "%s %q is not a time: want Unix seconds or RFC 3339", name, v)
	}
	return t, nil
}

// events is GET /events: the stored events since ?since (none without
// it), then the live ones, until ?until passes or the client goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	q := r.URL.Query()
	filters, err := parseFilters(q.Get("filters"), eventFilterKeys)
	if err != nil {
		return err
	}
	since, err := parseEventTime("since", q.Get("since"))
	if err != nil {
		return err
	}
	until, err := parseEventTime("until", q.Get("until"))
	if err != nil {
		return err
	}
	now := time.Now()
	if !until.IsZero() && !since.IsZero() && until.Before(since) {
		return errdefs.Invalid("until", "until (%s) is before since (%s)", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	cursor := store.EventsNow
	if !since.IsZero() {
		cursor = store.EventCursor{}
	}
	var stream <-chan store.EventOrError
	if until.IsZero() || until.After(now) {
		if stream, err = s.d.WatchEvents(ctx, a, cursor); err != nil {
			return err
		}
	} else if _, err := s.d.Events(ctx, a, cursor, 1); err != nil {
		return err // refused before any byte is written
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	m := newEventMapper(s, a, filters)
	enc := json.NewEncoder(w)
	send := func(ev api.Event) bool {
		if !since.IsZero() && ev.Time.Before(since) {
			return true
		}
		if !until.IsZero() && ev.Time.After(until) {
			return false
		}
		msg, ok := m.message(ctx, ev)
		if !ok {
			return true
		}
		if err := enc.Encode(msg); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if stream == nil { // until is past: the stored events up to it only
		cursor = store.EventCursor{}
		for {
			page, err := s.d.Events(ctx, a, cursor, domain.MaxLimit)
			if err != nil {
				return nil // the status is sent; the stream just ends
			}
			for _, ev := range page.Items {
				if !send(ev) {
					return nil
				}
			}
			if page.Next == "" {
				return nil
			}
			if cursor, err = store.ParseEventCursor(page.Next); err != nil {
				return nil
			}
		}
	}
	var deadline <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			return nil
		case e, ok := <-stream:
			if !ok || e.Err != nil {
				if e.Err != nil {
					s.log.Warn("docker events: the event stream broke", "err", e.Err)
				}
				return nil
			}
			if !send(e.Event) {
				return nil
			}
		}
	}
}

// eventMapper turns Wharf's events into Docker's, looking up each
// container's image, labels and node (through the domain layer, as the
// actor), and keeps what it looked up, so that a container's last events
// (destroy) still name its node.
type eventMapper struct {
	s          *Server
	a          domain.Actor
	filters    map[string][]string
	containers map[string]*api.Container
	nodes      map[string]*api.Node
}

func newEventMapper(s *Server, a domain.Actor, filters map[string][]string) *eventMapper {
	return &eventMapper{s: s, a: a, filters: filters, containers: map[string]*api.Container{}, nodes: map[string]*api.Node{}}
}

// containerAction is the Docker action of a Wharf container event; "" for
// one Docker has no word for (placed, pulling, updated).
func containerAction(ev api.Event) events.Action {
	switch ev.Type {
	case "created":
		return events.ActionCreate
	case "deleted":
		return events.ActionDestroy
	case "state":
		switch api.ContainerState(ev.State) {
		case api.ContainerRunning:
			return events.ActionStart
		case api.ContainerStopping, api.ContainerTerminating:
			return events.ActionKill
		case api.ContainerStopped, api.ContainerTerminated:
			return events.ActionDie
		}
	}
	return ""
}

// nodeAction is the Docker action of a Wharf node event, in Swarm
// classic's words for an engine coming and going.
func nodeAction(ev api.Event) events.Action {
	switch ev.Type {
	case "created":
		return events.ActionCreate
	case "deleted":
		return events.ActionRemove
	case "state":
		switch api.NodeState(ev.State) {
		case api.NodeDeployed:
			return "engine_connect"
		case api.NodeUnreachable:
			return "engine_disconnect"
		}
		return events.ActionUpdate
	case "updated":
		return events.ActionUpdate
	}
	return ""
}

// message is ev in Docker's format, and whether it passes the filters.
func (m *eventMapper) message(ctx context.Context, ev api.Event) (eventMessage, bool) {
	var msg eventMessage
	attrs := map[string]string{}
	switch ev.Kind {
	case "container":
		action := containerAction(ev)
		if action == "" {
			return msg, false
		}
		msg.Type, msg.Action = events.ContainerEventType, action
		ct := m.container(ctx, ev.Object)
		name := ev.Name
		if ct != nil {
			for k, v := range ct.Spec.Labels {
				attrs[k] = v
			}
			attrs["image"] = ct.Spec.Image
			if n := m.node(ctx, ct.Spec.Node); n != nil {
				attrs["node.name"], attrs["node.id"], attrs["node.addr"] = n.Name, n.ID, n.Address
				if n.Address != "" {
					attrs["node.ip"] = n.Address
				}
			}
			if action == events.ActionDie && ct.Status.ExitCode != nil {
				attrs["exitCode"] = strconv.Itoa(*ct.Status.ExitCode)
			}
		}
		attrs["name"] = name
		msg.Status, msg.ID, msg.From = string(action), ev.Object, attrs["image"]
	case "node":
		action := nodeAction(ev)
		if action == "" {
			return msg, false
		}
		msg.Type, msg.Action = events.NodeEventType, action
		attrs["name"], attrs["node.name"], attrs["node.id"] = ev.Name, ev.Name, ev.Object
		if ev.State != "" {
			attrs["state"] = ev.State
		}
	default:
		return msg, false
	}
	msg.Actor = events.Actor{ID: ev.Object, Attributes: attrs}
	msg.Scope = "local"
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	msg.Time, msg.TimeNano = t.Unix(), t.UnixNano()
	return msg, m.passes(msg)
}

// container looks ev's container up now, or as last seen when it is gone
// (nil when it was never seen).
func (m *eventMapper) container(ctx context.Context, id string) *api.Container {
	ct, err := m.s.d.GetContainer(ctx, m.a, id)
	if err != nil {
		return m.containers[id] // gone: as last seen
	}
	if len(m.containers) > 10000 {
		clear(m.containers)
	}
	m.containers[id] = ct
	return ct
}

// node looks a node up once; nil when the actor may not read nodes.
func (m *eventMapper) node(ctx context.Context, id string) *api.Node {
	if id == "" {
		return nil
	}
	if n, ok := m.nodes[id]; ok {
		return n
	}
	n, err := m.s.d.GetNode(ctx, m.a, id)
	if err != nil {
		n = nil
	}
	m.nodes[id] = n
	return n
}

// passes tells whether msg matches every filter key (any of its values).
func (m *eventMapper) passes(msg eventMessage) bool {
	attrs := msg.Actor.Attributes
	for key, values := range m.filters {
		match := false
		for _, v := range values {
			switch key {
			case "type":
				match = string(msg.Type) == v
			case "event":
				match = string(msg.Action) == v
			case "container":
				match = msg.Type == events.ContainerEventType && (attrs["name"] == v || strings.HasPrefix(msg.Actor.ID, v) && v != "")
			case "node":
				match = attrs["node.name"] == v || attrs["node.id"] == v
			case "image":
				match = attrs["image"] == v || strings.HasPrefix(attrs["image"], v+"@") || strings.HasPrefix(attrs["image"], v+":")
			case "label":
				k, want, hasValue := strings.Cut(v, "=")
				got, ok := attrs[k]
				match = ok && (!hasValue || got == want)
			}
			if match {
				break
			}
		}
		if !match {
			return false
		}
	}
	return true
}
