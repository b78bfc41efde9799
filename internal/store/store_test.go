package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

type thing struct {
	api.Meta
	N int `json:"n"`
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	e, err := StartEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return New(e.Client, "/wharf")
}

func TestCreateGetUpdateDelete(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := &thing{Meta: api.Meta{ID: "a"}, N: 1}
	if err := s.Create(ctx, "things", a); err != nil {
		t.Fatal(err)
	}
	if a.Revision == 0 || a.CreatedAt.IsZero() {
		t.Fatalf("create did not fill revision/created: %+v", a.Meta)
	}
	if err := s.Create(ctx, "things", &thing{Meta: api.Meta{ID: "a"}}); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: got %v, want ErrExists", err)
	}
	var got thing
	if err := s.Get(ctx, "things", "a", &got); err != nil || got.N != 1 || got.Revision != a.Revision {
		t.Fatalf("get = %+v, %v", got, err)
	}
	got.N = 2
	if err := s.Update(ctx, "things", &got); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, "things", "missing", &got); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := s.Delete(ctx, "things", "a", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "things", "a", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestStaleUpdateIsAConflict(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, "things", &thing{Meta: api.Meta{ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	var first, second thing
	_ = s.Get(ctx, "things", "a", &first)
	_ = s.Get(ctx, "things", "a", &second)
	first.N = 10
	if err := s.Update(ctx, "things", &first); err != nil {
		t.Fatal(err)
	}
	second.N = 20
	if err := s.Update(ctx, "things", &second); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update: got %v, want ErrConflict", err)
	}
	var now thing
	_ = s.Get(ctx, "things", "a", &now)
	if now.N != 10 {
		t.Fatalf("stale update overwrote the value: N=%d", now.N)
	}
	// Updating a deleted object is not found, not a silent re-create.
	_ = s.Delete(ctx, "things", "a", 0)
	if err := s.Update(ctx, "things", &now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of deleted: %v", err)
	}
}

func TestTxnIsAllOrNothing(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_ = s.Create(ctx, "things", &thing{Meta: api.Meta{ID: "taken"}})
	tx := s.Txn()
	for i := 0; i < 50; i++ {
		tx.Create("things", &thing{Meta: api.Meta{ID: fmt.Sprintf("n%02d", i)}})
	}
	tx.Create("things", &thing{Meta: api.Meta{ID: "taken"}})
	tx.Emit(api.Event{Kind: "thing", Type: "created"})
	if err := tx.Commit(ctx); !errors.Is(err, ErrExists) {
		t.Fatalf("commit: got %v, want ErrExists", err)
	}
	res, _ := s.List(ctx, "things", ListOptions{})
	if len(res.Items) != 1 {
		t.Fatalf("a failed txn wrote %d objects", len(res.Items)-1)
	}
	evs, _, _ := s.Events(ctx, EventCursor{}, 0)
	if len(evs) != 0 {
		t.Fatalf("a failed txn wrote %d events", len(evs))
	}
}

func TestListPages(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	tx := s.Txn()
	for i := 0; i < 25; i++ {
		tx.Create("things", &thing{Meta: api.Meta{ID: fmt.Sprintf("t%02d", i)}, N: i})
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	after := ""
	for pages := 0; ; pages++ {
		res, err := s.List(ctx, "things", ListOptions{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			if seen[it.ID] {
				t.Fatalf("%s listed twice", it.ID)
			}
			seen[it.ID] = true
			after = it.ID
		}
		if !res.More {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 25 {
		t.Fatalf("paged %d of 25", len(seen))
	}
}

func TestWatchResumedFromARevisionMissesNothing(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, rev, err := ListAll[thing](ctx, s, "things")
	if err != nil {
		t.Fatal(err)
	}
	// Writes happen before the watch starts: a watch from rev must see them.
	for i := 0; i < 20; i++ {
		if err := s.Create(ctx, "things", &thing{Meta: api.Meta{ID: fmt.Sprintf("w%02d", i)}, N: i}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Create(ctx, "other", &thing{Meta: api.Meta{ID: "x"}})
	_ = s.Delete(ctx, "things", "w00", 0)
	ch := s.Watch(ctx, rev, "things")
	var puts, dels int
	timeout := time.After(10 * time.Second)
	for puts+dels < 21 {
		select {
		case b := <-ch:
			if b.Err != nil {
				t.Fatal(b.Err)
			}
			for _, c := range b.Changes {
				if c.Kind != "things" {
					t.Fatalf("watch leaked kind %q", c.Kind)
				}
				if c.Deleted {
					dels++
					continue
				}
				var th thing
				if err := c.Decode(&th); err != nil || th.Revision != c.Revision {
					t.Fatalf("decode %v %+v", err, th)
				}
				puts++
			}
		case <-timeout:
			t.Fatalf("saw %d puts and %d deletes of 20 and 1", puts, dels)
		}
	}
}

func TestEventsResumeWithoutGapOrDuplicate(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emit := func(n int) {
		tx := s.Txn()
		for i := 0; i < n; i++ {
			tx.Emit(api.Event{Kind: "thing", Type: "state", Message: "m"})
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	emit(3) // three events in one revision
	emit(2)
	all, _, err := s.Events(ctx, EventCursor{}, 0)
	if err != nil || len(all) != 5 {
		t.Fatalf("events = %d, %v", len(all), err)
	}
	// Resume from the middle of the first revision.
	cur, err := ParseEventCursor(all[1].Cursor())
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	ch := s.WatchEvents(wctx, cur)
	emit(4)
	var got []api.Event
	for len(got) < 7 {
		select {
		case e := <-ch:
			if e.Err != nil {
				t.Fatal(e.Err)
			}
			got = append(got, e.Event)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of 7 events", len(got))
		}
	}
	wcancel()
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.ID > b.ID || (a.ID == b.ID && a.Seq >= b.Seq) {
			t.Fatalf("events out of order or duplicated: %s then %s", a.Cursor(), b.Cursor())
		}
	}
	if got[0].Cursor() != all[2].Cursor() {
		t.Fatalf("resume started at %s, want %s", got[0].Cursor(), all[2].Cursor())
	}
	if _, err := ParseEventCursor("12.x"); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

func TestEventPagesCrossRevisionsWithoutGap(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, n := range []int{150, 1, 7} { // one revision far larger than a page
		tx := s.Txn()
		for i := 0; i < n; i++ {
			tx.Emit(api.Event{Kind: "thing", Type: "state"})
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var got []api.Event
	cur := EventCursor{}
	for pages := 0; pages < 100; pages++ {
		page, _, err := s.Events(ctx, cur, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		cur, _ = ParseEventCursor(page[len(page)-1].Cursor())
	}
	if len(got) != 158 {
		t.Fatalf("paged %d events of 158", len(got))
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.ID > b.ID || (a.ID == b.ID && a.Seq >= b.Seq) {
			t.Fatalf("out of order or duplicated at %d: %s then %s", i, a.Cursor(), b.Cursor())
		}
	}
}

func TestConnectToAnExternalEtcd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cli, err := Connect(ctx, External{Endpoints: []string{e.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	s := New(cli, "/wharf")
	if err := s.Create(ctx, "things", &thing{Meta: api.Meta{ID: "x"}, N: 7}); err != nil {
		t.Fatal(err)
	}
	var got thing
	if err := New(e.Client, "/wharf").Get(ctx, "things", "x", &got); err != nil || got.N != 7 {
		t.Fatalf("write through the external client not seen in-process: %+v %v", got, err)
	}
	if _, err := Connect(ctx, External{Endpoints: []string{"unix://" + dir + "/nothing-here.sock"}}); err == nil {
		t.Fatal("Connect to nothing succeeded")
	}
}
