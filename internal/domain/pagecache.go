package domain

// The raw page cache: a list served again while nothing in the store has
// changed is served from the page read before, not read again.

import (
	"context"
	"sync"
)

// maxCachedPageBytes bounds the stored JSON the page cache holds (each
// page's encoding, made once by the front door, about doubles it).
const maxCachedPageBytes = 4 << 20

// pageCache holds raw pages read at one store revision. A page is served
// again only while the store's revision, read linearizably during each
// list (the revision its API token was read at, else store.Revision: a
// count of one key, no values), is still the one the page was read at: no key has changed since, so the page is exactly what
// a new read would return, and a write acknowledged before the list
// started is always seen. The first list at a new revision drops every
// page of the old one. Lists that miss the same page at once wait for one
// of them to read it (see flight) rather than all read it together.
type pageCache struct {
	mu    sync.Mutex
	rev   int64
	bytes int
	m     map[pageKey]RawPage
	// flights are the reads in progress, per page: closed when done.
	flights map[pageKey]chan struct{}
}

// pageKey is what a raw page's content depends on besides the revision:
// the actor's organization (the page keeps its objects only), the cursor,
// size and order, never the actor itself (its permission is checked before
// the cache is asked).
type pageKey struct {
	kind, org, after string
	limit            int
	reverse          bool
}

// get is the page cached for k at revision rev.
func (c *pageCache) get(k pageKey, rev int64) (RawPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev != rev {
		return RawPage{}, false
	}
	p, ok := c.m[k]
	return p, ok
}

// getSince is the page cached for k at revision rev or a later one.
func (c *pageCache) getSince(k pageKey, rev int64) (RawPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rev < rev {
		return RawPage{}, false
	}
	p, ok := c.m[k]
	return p, ok
}

// put keeps page p of k read at revision rev, unless a newer revision's
// pages are kept already or p alone is over the bound.
func (c *pageCache) put(k pageKey, rev int64, p RawPage) {
	size := 0
	for _, it := range p.Items {
		size += len(it.Value)
	}
	if size > maxCachedPageBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case rev < c.rev:
		return
	case rev > c.rev || c.bytes+size > maxCachedPageBytes:
		c.rev, c.bytes, c.m = rev, 0, map[pageKey]RawPage{}
	}
	if _, ok := c.m[k]; !ok {
		c.bytes += size
	}
	c.m[k] = p
}

// flight is the read of page k in progress: wait is closed when it ends;
// lead is true when there was none and the caller is to read it, then call
// land.
func (c *pageCache) flight(k pageKey) (wait <-chan struct{}, lead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.flights[k]; ok {
		return ch, false
	}
	if c.flights == nil {
		c.flights = map[pageKey]chan struct{}{}
	}
	ch := make(chan struct{})
	c.flights[k] = ch
	return ch, true
}

// land ends the read of page k.
func (c *pageCache) land(k pageKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.flights[k])
	delete(c.flights, k)
}

// cachedRawPage is rawPage served from the page cache while the store's
// revision has not moved since the page was read. A list that finds the
// same page being read waits for that read once, then takes its page if
// it was read at this list's revision or a later one (a later revision's
// page is still the store as it was at some moment of this call: every
// write acknowledged before the call is at or below rev), else reads its
// own.
func (d *Domain) cachedRawPage(ctx context.Context, a Actor, kind string, p Page) (RawPage, error) {
	if err := p.check(); err != nil {
		return RawPage{}, err
	}
	rev, _ := ctx.Value(freshCallKey{}).(int64)
	if rev == 0 {
		var err error
		if rev, err = d.st.Revision(ctx); err != nil {
			return RawPage{}, err
		}
	}
	k := pageKey{kind: kind, org: a.orgOf(), after: p.After, limit: p.Limit, reverse: p.Reverse}
	if page, ok := d.pages.get(k, rev); ok {
		return page, nil
	}
	wait, lead := d.pages.flight(k)
	if lead {
		defer d.pages.land(k)
	} else {
		select {
		case <-wait:
		case <-ctx.Done():
			return RawPage{}, ctx.Err()
		}
		if page, ok := d.pages.getSince(k, rev); ok {
			return page, nil
		}
	}
	page, err := d.rawPage(ctx, a, kind, p)
	if err != nil {
		return RawPage{}, err
	}
	page.memo = &pageMemo{}
	d.pages.put(k, page.Revision, page)
	return page, nil
}

type freshCallKey struct{}

// FreshCall is ctx for the one call a front door authenticated a for just
// now, with Authenticate: a list in it takes the revision a's API token
// was read at (a linearizable read made during the call, so at or after
// every write acknowledged before the call) as the store's revision, and
// makes no read of its own to learn it. The context must live no longer
// than that call: an actor kept for later calls (a stream's) must not
// lend them its old revision.
func FreshCall(ctx context.Context, a Actor) context.Context {
	if a.seenRev == 0 {
		return ctx
	}
	return context.WithValue(ctx, freshCallKey{}, a.seenRev)
}

// pageMemo holds a cached page's encodings, each made once.
type pageMemo struct {
	mu  sync.Mutex
	enc map[string]*encoding
}

// encoding is one encoding of a page, made once.
type encoding struct {
	once sync.Once
	b    []byte
	err  error
}

// Encoded is the page's wire form called name, as enc makes it. A page
// from the cache is encoded once per name, by the first list that serves
// it, and that encoding is served again with it; enc must therefore
// depend on the page alone, and a name always mean the same encoding (one
// front door, the API, encodes raw pages).
func (p RawPage) Encoded(name string, enc func(RawPage) ([]byte, error)) ([]byte, error) {
	if p.memo == nil {
		return enc(p)
	}
	p.memo.mu.Lock()
	e := p.memo.enc[name]
	if e == nil {
		if p.memo.enc == nil {
			p.memo.enc = map[string]*encoding{}
		}
		e = &encoding{}
		p.memo.enc[name] = e
	}
	p.memo.mu.Unlock()
	e.once.Do(func() { e.b, e.err = enc(p) })
	return e.b, e.err
}
