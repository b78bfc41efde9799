package store

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// TestDecodeSharedOneCopyPerRevision: two watchers of one store decoding
// the same write get one object; a later write is a new one; and once
// nobody holds an object its entry leaves the memo.
func TestDecodeSharedOneCopyPerRevision(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w1 := s.Watch(ctx, 0, "things")
	w2 := s.Watch(ctx, 0, "things")
	list := func() RawObject {
		res, err := s.List(ctx, "things", ListOptions{})
		if err != nil || len(res.Items) != 1 {
			t.Fatalf("list: %v %v", res.Items, err)
		}
		return res.Items[0]
	}
	next := func(w <-chan WatchBatch) Change {
		select {
		case b := <-w:
			if b.Err != nil || len(b.Changes) != 1 {
				t.Fatalf("watch: %+v", b)
			}
			return b.Changes[0]
		case <-time.After(10 * time.Second):
			t.Fatal("no change watched")
		}
		return Change{}
	}

	th := &thing{Meta: api.Meta{ID: "x"}, N: 1}
	if err := s.Create(ctx, "things", th); err != nil {
		t.Fatal(err)
	}
	a, err := DecodeShared[thing](next(w1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeShared[thing](next(w2))
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeRawShared[thing](list())
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a != c || a.N != 1 || a.Revision != th.Revision {
		t.Fatalf("one write decoded as %p %p %p (N %d, revision %d of %d): want one object", a, b, c, a.N, a.Revision, th.Revision)
	}

	th.N = 2
	if err := s.Update(ctx, "things", th); err != nil {
		t.Fatal(err)
	}
	d, err := DecodeShared[thing](next(w1))
	if err != nil {
		t.Fatal(err)
	}
	if d == a || d.N != 2 {
		t.Fatalf("a later write gave %p N %d; the first was %p", d, d.N, a)
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(d)

	// Nobody holds either now: their entries go with them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		s.shared.mu.Lock()
		n := len(s.shared.m)
		s.shared.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after their objects were collected", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDecodeSharedRefusesBadValues: an undecodable value is an error, and
// nothing is remembered for it.
func TestDecodeSharedRefusesBadValues(t *testing.T) {
	sd := &sharedDecodes{}
	if _, err := DecodeShared[thing](Change{Kind: "things", ID: "x", Revision: 3, Value: []byte("{"), shared: sd}); err == nil {
		t.Fatal("bad JSON decoded")
	}
	if len(sd.m) != 0 {
		t.Fatalf("memo holds %d entries for a bad value", len(sd.m))
	}
}
