package dockerapi

// The terminal size of a docker run -t whose attach waits for its
// container to start. The client resizes right after its start call,
// which may come before the attach on the node: the output of the
// terminal's resize (a shell redraws its prompt) would be lost, and the
// prompt with it (the engine's logs, which the attach replays, keep only
// whole lines). So a resize that comes while the attach waits is held,
// and made once the attach is on the node.

import (
	"context"
	"sync"

	"github.com/wharfhq/wharf/internal/domain"
)

// pendingTTY is the size asked for a waiting attach's terminal.
type pendingTTY struct {
	attached      bool
	height, width uint
}

// pendingTTYs are the waiting attaches of terminal containers, by the
// reference the client named the container with (it names it so in
// its resize too).
type pendingTTYs struct {
	mu sync.Mutex
	m  map[string]*pendingTTY
}

// add registers a waiting attach to ref.
func (p *pendingTTYs) add(ref string) *pendingTTY {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]*pendingTTY{}
	}
	t := &pendingTTY{}
	p.m[ref] = t
	return t
}

// remove forgets t, the attach to ref.
func (p *pendingTTYs) remove(ref string, t *pendingTTY) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[ref] == t {
		delete(p.m, ref)
	}
}

// hold keeps the size of a resize of ref while its attach waits, and
// tells whether it did.
func (p *pendingTTYs) hold(ref string, height, width uint) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.m[ref]
	if t == nil || t.attached {
		return false
	}
	t.height, t.width = height, width
	return true
}

// resizeAttached marks t's attach as on the node and makes the resize
// held for it, if any.
func (s *Server) resizeAttached(ctx context.Context, a domain.Actor, id string, t *pendingTTY) {
	s.ttys.mu.Lock()
	t.attached = true
	h, w := t.height, t.width
	s.ttys.mu.Unlock()
	if h == 0 || w == 0 {
		return
	}
	if err := s.d.ResizeContainer(ctx, a, id, h, w); err != nil {
		s.log.Debug("resize after attach failed", "container", id, "err", err)
	}
}
