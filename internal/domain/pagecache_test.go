package domain

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// rawIDs are a raw page's object IDs and the revision each carries.
func rawIDs(p RawPage) (ids []string, revs []int64) {
	for _, it := range p.Items {
		ids = append(ids, it.ID)
		revs = append(revs, it.Revision)
	}
	return ids, revs
}

// A raw page is served again from the cache only while the store's
// revision has not moved: any create, update or delete since is seen at
// once, another organization never gets the page, and the permission is
// checked on every call.
func TestPageCacheServesOnlyTheCurrentRevision(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	a, b := orgAdmin("a"), orgAdmin("b")
	s1, err := d.CreateService(ctx, a, "s1", sleepSpec())
	if err != nil {
		t.Fatal(err)
	}
	t1, err := d.CreateService(ctx, b, "t1", sleepSpec())
	if err != nil {
		t.Fatal(err)
	}
	list := func(who Actor) RawPage {
		t.Helper()
		p, err := d.ListServicesRaw(ctx, who, Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := func(p RawPage, ids ...string) {
		t.Helper()
		got, _ := rawIDs(p)
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Fatalf("listed %v, want %v", got, ids)
		}
	}

	// Nothing changed between two lists: the second is the first page,
	// encoded once.
	p1, p2 := list(a), list(a)
	want(p1, s1.ID)
	if &p1.Items[0] != &p2.Items[0] || p1.Revision != p2.Revision {
		t.Fatal("the second list at the same revision read the store again")
	}
	encodings := 0
	enc := func(p RawPage) ([]byte, error) { encodings++; return p.Items[0].Value, nil }
	e1, _ := p1.Encoded("json", enc)
	e2, _ := p2.Encoded("json", enc)
	if _, err := p2.Encoded("other", enc); err != nil || encodings != 2 {
		t.Fatalf("another encoding: %d encodings, %v", encodings, err)
	}
	if encodings != 2 || !bytes.Equal(e1, e2) {
		t.Fatalf("a cached page encoded %d times", encodings)
	}
	// Another organization lists its own, not a's cached page.
	want(list(b), t1.ID)
	// Nor does a smaller page of a's get the cached one.
	if p, err := d.ListServicesRaw(ctx, a, Page{Limit: 1}); err != nil || p.Next != "" || len(p.Items) != 1 {
		t.Fatalf("page of 1: %+v %v", p, err)
	}
	// No access, no page, cached or not.
	if _, err := d.ListServicesRaw(ctx, Actor{Name: "nobody", Org: "a"}, Page{Limit: 10}); err == nil {
		t.Fatal("an actor with no access listed a's services from the cache")
	}

	// A create is seen by the very next list.
	s2, err := d.CreateService(ctx, a, "s2", sleepSpec())
	if err != nil {
		t.Fatal(err)
	}
	want(list(a), s1.ID, s2.ID)
	// So is an update of an object listed before (same count).
	scaled, err := d.ScaleService(ctx, a, "s1", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids, revs := rawIDs(list(a))
	if i := slices.Index(ids, s1.ID); i < 0 || revs[i] != scaled.Revision {
		t.Fatalf("s1 listed as %v %v after its update to revision %d", ids, revs, scaled.Revision)
	}
	// And a delete.
	if err := d.st.Delete(ctx, store.KindServices, s2.ID, 0); err != nil {
		t.Fatal(err)
	}
	want(list(a), s1.ID)
	// A change in another kind moves the revision too: a is read again
	// and still lists the same.
	before := list(a)
	if _, err := d.CreateService(ctx, b, "t2", sleepSpec()); err != nil {
		t.Fatal(err)
	}
	after := list(a)
	want(after, s1.ID)
	if after.Revision <= before.Revision {
		t.Fatalf("listed at revision %d after a write, %d before", after.Revision, before.Revision)
	}
}

// The cache keeps one revision's pages, within its byte bound.
func TestPageCacheBound(t *testing.T) {
	var c pageCache
	big := RawPage{Items: []store.RawObject{{ID: "x", Value: make([]byte, maxCachedPageBytes/2+1)}}}
	k1, k2 := pageKey{kind: "k", after: "1"}, pageKey{kind: "k", after: "2"}
	c.put(k1, 5, big)
	c.put(k2, 5, big) // over the bound: the cache starts again with k2 alone
	if _, ok := c.get(k1, 5); ok {
		t.Fatal("the cache holds more than its bound")
	}
	if _, ok := c.get(k2, 5); !ok {
		t.Fatal("the last page put is not kept")
	}
	c.put(k1, 4, big) // an older revision's page is not kept
	if _, ok := c.get(k1, 4); ok {
		t.Fatal("an older revision's page was kept")
	}
	if _, ok := c.get(k2, 6); ok {
		t.Fatal("a page served at a revision it was not read at")
	}
	tooBig := RawPage{Items: []store.RawObject{{ID: "y", Value: make([]byte, maxCachedPageBytes+1)}}}
	c.put(k1, 6, tooBig)
	if _, ok := c.get(k1, 6); ok {
		t.Fatal("a page over the bound was kept")
	}
}

// Lists at once, beside creates, each see every create acknowledged
// before they started, however the cache's reads are shared.
func TestPageCacheConcurrentListsSeeAcknowledgedWrites(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	var done []string
	for i := range 8 {
		svc, err := d.CreateService(ctx, admin, fmt.Sprintf("c%d", i), sleepSpec())
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, svc.ID)
		want := slices.Clone(done)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := d.ListServicesRaw(ctx, admin, Page{Limit: 100})
				if err != nil {
					errs <- err
					return
				}
				// Encodings made at once are made once and shared.
				if _, err := p.Encoded("ids", func(p RawPage) ([]byte, error) {
					ids, _ := rawIDs(p)
					return []byte(fmt.Sprint(ids)), nil
				}); err != nil {
					errs <- err
					return
				}
				got, _ := rawIDs(p)
				for _, id := range want {
					if !slices.Contains(got, id) {
						errs <- fmt.Errorf("a list after %d creates misses %s: %v", len(want), id, got)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

// A call authenticated just now lists at the revision its token was
// read at: a write acknowledged before the call is seen, and a page
// read at that revision is served again.
func TestPageCacheFreshCall(t *testing.T) {
	d := newTestDomain(t)
	ctx := t.Context()
	tok, err := d.CreateToken(ctx, admin, "ci", "", false)
	if err != nil {
		t.Fatal(err)
	}
	call := func() (context.Context, Actor) {
		t.Helper()
		a, err := d.Authenticate(ctx, tok.Secret, "")
		if err != nil {
			t.Fatal(err)
		}
		if a.seenRev == 0 {
			t.Fatal("Authenticate did not note the revision it read the token at")
		}
		return FreshCall(ctx, a), a
	}
	var want []string
	var last RawPage
	for i := range 3 {
		svc, err := d.CreateService(ctx, admin, fmt.Sprintf("f%d", i), sleepSpec())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, svc.ID)
		cctx, a := call()
		p, err := d.ListServicesRaw(cctx, a, Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := rawIDs(p)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("after %d creates listed %v, want %v", i+1, got, want)
		}
		last = p
	}
	cctx, a := call()
	p, err := d.ListServicesRaw(cctx, a, Page{Limit: 10})
	if err != nil || &p.Items[0] != &last.Items[0] {
		t.Fatalf("a fresh call at an unmoved revision read the store again (%v)", err)
	}
}
