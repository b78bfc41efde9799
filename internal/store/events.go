package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"github.com/wharfhq/wharf/api"
)

var jsonMarshal = json.Marshal

// eventLease hands out an etcd lease that events are attached to, so that
// old events expire on their own. One lease serves a whole hour of events,
// so expiry costs nothing per event.
type eventLease struct {
	cli       *clientv3.Client
	retention time.Duration
	mu        sync.Mutex
	id        clientv3.LeaseID
	granted   time.Time
}

func newEventLease(cli *clientv3.Client, retention time.Duration) *eventLease {
	return &eventLease{cli: cli, retention: retention}
}

func (l *eventLease) get(ctx context.Context) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id != 0 && time.Since(l.granted) < time.Hour {
		return l.id, nil
	}
	resp, err := l.cli.Grant(ctx, int64((l.retention+time.Hour)/time.Second))
	if err != nil {
		return 0, wrapEtcd(err)
	}
	l.id, l.granted = resp.ID, time.Now()
	return l.id, nil
}

// EventCursor is a position in the event stream: events after (Rev, Seq).
type EventCursor struct {
	Rev int64
	Seq int
}

// EventsNow is the cursor "now": only the events written from then on.
var EventsNow = EventCursor{Rev: -1}

// ParseEventCursor reads "<rev>" or "<rev>.<seq>", or "now" (EventsNow). A
// bare revision means every event of that revision has been seen.
func ParseEventCursor(s string) (EventCursor, error) {
	if s == "" {
		return EventCursor{}, nil
	}
	if s == "now" {
		return EventsNow, nil
	}
	revS, seqS, hasSeq := strings.Cut(s, ".")
	rev, err := strconv.ParseInt(revS, 10, 64)
	if err != nil || rev < 0 {
		return EventCursor{}, fmt.Errorf("cursor %q: want <revision> or <revision>.<seq>", s)
	}
	c := EventCursor{Rev: rev, Seq: 1 << 30}
	if hasSeq {
		seq, err := strconv.Atoi(seqS)
		if err != nil || seq < 0 {
			return EventCursor{}, fmt.Errorf("cursor %q: want <revision> or <revision>.<seq>", s)
		}
		c.Seq = seq
	}
	return c, nil
}

func (c EventCursor) after(e api.Event) bool {
	return e.ID > c.Rev || (e.ID == c.Rev && e.Seq > c.Seq)
}

// decodeEvents reads one key of /wharf/events/ written at revision rev:
// the events of one transaction, a JSON array whose index is each event's
// Seq, or, as stores written before that kept them, one event whose Seq
// ends its key ("...-0003").
func decodeEvents(key string, value []byte, rev int64) ([]api.Event, error) {
	if len(value) > 0 && value[0] == '[' {
		var evs []api.Event
		if err := json.Unmarshal(value, &evs); err != nil {
			return nil, fmt.Errorf("decode events %s: %w", key, err)
		}
		for i := range evs {
			evs[i].ID, evs[i].Seq = rev, i
		}
		return evs, nil
	}
	var e api.Event
	if err := json.Unmarshal(value, &e); err != nil {
		return nil, fmt.Errorf("decode event %s: %w", key, err)
	}
	e.ID = rev
	if i := strings.LastIndexByte(key, '-'); i >= 0 {
		e.Seq, _ = strconv.Atoi(key[i+1:])
	}
	return []api.Event{e}, nil
}

// eventPage is how many event keys Events reads at a time when it has a
// limit: a key holds a whole transaction's events, up to MaxOps of them.
const eventPage = 16

// Events lists up to limit stored events after the cursor (0: all), oldest
// first, and the store revision it read at (watch from there for what
// follows). With a limit it reads the keys a page at a time, all pages at
// that one revision, and stops once it holds enough.
func (s *Store) Events(ctx context.Context, since EventCursor, limit int) ([]api.Event, int64, error) {
	p := s.kindPrefix(KindEvents)
	if since.Rev < 0 { // now: nothing yet
		rev, err := s.currentRev(ctx)
		return nil, rev, err
	}
	var out []api.Event
	var atRev int64 // the revision every page reads at: the first one's
	from, page := since.Rev, int64(eventPage)
	if limit <= 0 {
		page = 0 // everything in one read
	}
	for {
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortAscend), clientv3.WithLimit(page)}
		if from > 0 {
			opts = append(opts, clientv3.WithMinModRev(from))
		}
		if atRev > 0 {
			opts = append(opts, clientv3.WithRev(atRev))
		}
		octx, cancel := s.opContext(ctx)
		resp, err := s.cli.Get(octx, p, opts...)
		cancel()
		if err != nil {
			return nil, 0, wrapEtcd(err)
		}
		atRev = resp.Header.Revision
		kvs := resp.Kvs
		if resp.More && len(kvs) > 0 {
			// The page may end inside a revision (stores written before
			// one key per transaction): leave that revision to the next.
			last := kvs[len(kvs)-1].ModRevision
			for len(kvs) > 0 && kvs[len(kvs)-1].ModRevision == last {
				kvs = kvs[:len(kvs)-1]
			}
			if len(kvs) == 0 { // one revision fills the page: read more at once
				page *= 2
				continue
			}
			from = last
		}
		var got []api.Event
		for _, kv := range kvs {
			evs, err := decodeEvents(string(kv.Key), kv.Value, kv.ModRevision)
			if err != nil {
				return nil, 0, err
			}
			for _, e := range evs {
				if since.after(e) {
					got = append(got, e)
				}
			}
		}
		sortEvents(got)
		out = append(out, got...)
		if !resp.More || (limit > 0 && len(out) >= limit) {
			break
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, atRev, nil
}

// currentRev is the store's revision now.
func (s *Store) currentRev(ctx context.Context) (int64, error) {
	octx, cancel := s.opContext(ctx)
	defer cancel()
	resp, err := s.cli.Get(octx, s.kindPrefix(KindEvents), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapEtcd(err)
	}
	return resp.Header.Revision, nil
}

func sortEvents(ev []api.Event) {
	// Already sorted by revision; order by seq inside one revision.
	for i := 1; i < len(ev); i++ {
		for j := i; j > 0 && (ev[j].ID == ev[j-1].ID && ev[j].Seq < ev[j-1].Seq); j-- {
			ev[j], ev[j-1] = ev[j-1], ev[j]
		}
	}
}

// WatchEvents streams every event after the cursor: first those stored, then
// new ones as they are written, with no gap and no duplicate between the two.
// The channel closes when ctx ends or on an error, which is sent first.
func (s *Store) WatchEvents(ctx context.Context, since EventCursor) <-chan EventOrError {
	ch := make(chan EventOrError, 64)
	go func() {
		defer close(ch)
		if since.Rev < 0 { // now: every event of the current revision is seen
			rev, err := s.currentRev(ctx)
			if err != nil {
				sendEvent(ctx, ch, EventOrError{Err: err})
				return
			}
			since = EventCursor{Rev: rev, Seq: 1 << 30}
		}
		past, rev, err := s.Events(ctx, since, 0)
		if err != nil {
			sendEvent(ctx, ch, EventOrError{Err: err})
			return
		}
		for _, e := range past {
			if !sendEvent(ctx, ch, EventOrError{Event: e}) {
				return
			}
		}
		wc := s.cli.Watch(ownWatchStream(clientv3.WithRequireLeader(ctx)), s.kindPrefix(KindEvents), clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for resp := range wc {
			if err := resp.Err(); err != nil {
				sendEvent(ctx, ch, EventOrError{Err: wrapWatch(err)})
				return
			}
			for _, ev := range resp.Events {
				if ev.Type != clientv3.EventTypePut || ev.IsModify() {
					continue
				}
				evs, err := decodeEvents(string(ev.Kv.Key), ev.Kv.Value, ev.Kv.ModRevision)
				if err != nil {
					sendEvent(ctx, ch, EventOrError{Err: err})
					return
				}
				for _, e := range evs {
					if since.after(e) && !sendEvent(ctx, ch, EventOrError{Event: e}) {
						return
					}
				}
			}
		}
		if ctx.Err() == nil {
			sendEvent(ctx, ch, EventOrError{Err: fmt.Errorf("store: event watch closed")})
		}
	}()
	return ch
}

// watchStreams numbers the event watches' own watch streams.
var watchStreams atomic.Uint64

// ownWatchStream gives an event watch a watch stream of its own. The etcd
// client multiplexes the watches whose contexts carry the same metadata on
// one stream, and ends a watch by sending its cancellation on that stream;
// over the in-process client of an embedded etcd (the server's), a burst
// of such cancellations (a hundred dashboards closing at once) deadlocks
// the stream, client and server each blocked sending to the other, and
// every watch on it stops receiving events for good (etcd issues 18879
// and 20716). A watch alone on its stream ends by closing the stream
// instead, with no cancellation to send. The cost is a stream, and its
// goroutines, per watch.
func ownWatchStream(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "wharf-event-watch", strconv.FormatUint(watchStreams.Add(1), 10))
}

// EventOrError is one item of an event stream.
type EventOrError struct {
	Event api.Event
	Err   error
}

func sendEvent(ctx context.Context, ch chan<- EventOrError, v EventOrError) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}
