package dockerapi

// The terminal size of a docker run -t whose attach waits for its
// container to start. The client resizes right after its start call,
// which may come before the attach on the node: the output of the
// terminal's resize (a shell redraws its prompt) would be lost, and the
// prompt with it (the engine's logs, which the attach replays, keep only
// whole lines). So a resize that comes while the attach waits is held,
// and made once the attach is on the node. A resize that comes after
// would race the user's first keys (a shell's stty size could still see
// no size): so once on the node, the attach waits a moment for the
// client's resize, if none came yet, before the first output flows.

import (
	"context"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/domain"
)

// pendingTTY is the size asked for a waiting attach's terminal.
type pendingTTY struct {
	attached, held bool
	height, width  uint
	sized          chan struct{} // closed at the first resize held
}

// resizeWait bounds how long an attach on its node waits for the
// client's first resize: docker sends it right after its start call.
const resizeWait = time.Second

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
	t := &pendingTTY{sized: make(chan struct{})}
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
	if !t.held {
		t.held = true
		close(t.sized)
	}
	t.height, t.width = height, width
	return true
}

// waitSized returns once a resize of t was held, or after max.
func (t *pendingTTY) waitSized(ctx context.Context, max time.Duration) {
	timer := time.NewTimer(max)
	defer timer.Stop()
	select {
	case <-t.sized:
	case <-timer.C:
	case <-ctx.Done():
	}
}

// resizeAttached waits up to resizeWait for a resize if none was held,
// marks t's attach as on the node and makes the resize held for it, if
// any.
func (s *Server) resizeAttached(ctx context.Context, a domain.Actor, id string, t *pendingTTY) {
	t.waitSized(ctx, resizeWait)
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
