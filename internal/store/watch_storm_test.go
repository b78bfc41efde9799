package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestWatchEventsAfterCancellationStorm: 200 event watches (a dashboard's
// browsers) end at once, twice over, on the embedded etcd's in-process
// client, as the server runs it; a watch opened afterwards still gets the
// next event, and every ended watch's channel closes. On one shared watch
// stream, the burst of cancellations deadlocked the stream (etcd issues
// 18879 and 20716) and the new watch waited for ever.
func TestWatchEventsAfterCancellationStorm(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	emit := func() {
		t.Helper()
		tx := s.Txn()
		tx.Emit(api.Event{Kind: "thing", Type: "state", Message: "m"})
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// now is a cursor after every event so far (EventsNow is resolved by
	// each watch when it starts, which may be after the next emit).
	now := func() EventCursor {
		t.Helper()
		_, rev, err := s.Events(ctx, EventsNow, 0)
		if err != nil {
			t.Fatal(err)
		}
		return EventCursor{Rev: rev, Seq: 1 << 30}
	}
	for round := range 2 {
		wctx, cancel := context.WithCancel(ctx)
		var chans []<-chan EventOrError
		from := now()
		for range 200 {
			chans = append(chans, s.WatchEvents(wctx, from))
		}
		emit()
		for _, ch := range chans {
			select {
			case e := <-ch:
				if e.Err != nil {
					t.Fatal(e.Err)
				}
			case <-time.After(30 * time.Second): // a guard against a hang, not a timing
				t.Fatalf("round %d: a watch got no event", round)
			}
		}
		cancel()
		var wg sync.WaitGroup
		for _, ch := range chans {
			wg.Go(func() {
				for range ch {
				}
			})
		}
		closed := make(chan struct{})
		go func() { wg.Wait(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: ended watches' channels are still open: the watch stream is stuck", round)
		}
	}
	ch := s.WatchEvents(ctx, now())
	emit()
	select {
	case e := <-ch:
		if e.Err != nil {
			t.Fatal(e.Err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a watch opened after 400 ended ones got no event: the watch stream is stuck")
	}
}
