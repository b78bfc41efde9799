package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
)

// TestOneEventKeyPerTransaction: a transaction's events are one key, read
// back as separate events numbered in the order they were emitted.
func TestOneEventKeyPerTransaction(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	tx := s.Txn()
	for i := range 5 {
		tx.Emit(api.Event{Kind: "thing", Type: "state", Message: fmt.Sprint(i)})
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := s.cli.Get(ctx, s.kindPrefix(KindEvents), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 1 {
		t.Fatalf("5 events of one transaction are %d keys, want 1", resp.Count)
	}
	evs, _, err := s.Events(ctx, EventCursor{}, 0)
	if err != nil || len(evs) != 5 {
		t.Fatalf("events = %d, %v", len(evs), err)
	}
	for i, e := range evs {
		if e.Seq != i || e.Message != fmt.Sprint(i) || e.ID != evs[0].ID || e.ID == 0 {
			t.Fatalf("event %d: id %d seq %d message %q", i, e.ID, e.Seq, e.Message)
		}
	}
}

// putLegacyEvents writes n events of one revision as stores written before
// one key per transaction kept them: a key each, its Seq ending the key.
func putLegacyEvents(t *testing.T, s *Store, batch string, n int) {
	t.Helper()
	var ops []clientv3.Op
	for i := range n {
		b, err := json.Marshal(api.Event{Kind: "old", Type: "state", Message: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, clientv3.OpPut(s.kindPrefix(KindEvents)+fmt.Sprintf("%s-%04d", batch, i), string(b)))
	}
	if _, err := s.cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestEventsOfBothFormsPageWithoutGap: events kept a key each (a revision
// of them larger than a page) and a key per transaction, paged with a
// limit and watched from a cursor, come out each once and in order.
func TestEventsOfBothFormsPageWithoutGap(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	putLegacyEvents(t, s, "0000000000000001aaaaaaaa", 3*eventPage) // one revision, three pages of keys
	want := 3 * eventPage
	for i := range 2 * eventPage { // more keys than a page, of 1 to 3 events
		tx := s.Txn()
		for range i%3 + 1 {
			tx.Emit(api.Event{Kind: "new", Type: "state"})
			want++
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	putLegacyEvents(t, s, "ffffffffffffffffaaaaaaaa", 2)
	want += 2

	check := func(what string, got []api.Event) {
		t.Helper()
		if len(got) != want {
			t.Fatalf("%s: %d events of %d", what, len(got), want)
		}
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if a.ID > b.ID || (a.ID == b.ID && a.Seq >= b.Seq) {
				t.Fatalf("%s: out of order or duplicated at %d: %s then %s", what, i, a.Cursor(), b.Cursor())
			}
		}
		for i := range 3 * eventPage { // the old revision, in its keys' order
			if got[i].Kind != "old" || got[i].Seq != i || got[i].Message != fmt.Sprint(i) {
				t.Fatalf("%s: event %d is %s %s seq %d", what, i, got[i].Kind, got[i].Message, got[i].Seq)
			}
		}
	}
	all, _, err := s.Events(ctx, EventCursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("all at once", all)

	for _, limit := range []int{1, 7, 40} {
		var got []api.Event
		cur := EventCursor{}
		for range 500 {
			page, _, err := s.Events(ctx, cur, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			cur, _ = ParseEventCursor(page[len(page)-1].Cursor())
		}
		check(fmt.Sprintf("limit %d", limit), got)
	}

	// A watch from inside the old revision replays the rest of it first.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cur, _ := ParseEventCursor(all[4].Cursor())
	ch := s.WatchEvents(wctx, cur)
	for i := 5; i < want; i++ {
		e := <-ch
		if e.Err != nil {
			t.Fatal(e.Err)
		}
		if e.Event.Cursor() != all[i].Cursor() {
			t.Fatalf("watch: event %d is %s, want %s", i, e.Event.Cursor(), all[i].Cursor())
		}
	}
}
