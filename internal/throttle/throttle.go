// Package throttle slows down credential guessing: it counts failed
// authentication attempts (bad API tokens, failed joins) per source
// address and, once a source has failed too often in a window, refuses it
// for a while, with a back-off that doubles when the source keeps failing.
// Deciding whether a source is refused is one map lookup in memory: it
// never reads the store. The table of sources is capped and evicts the
// least recently seen, so many sources cannot grow it without bound. It
// knows nothing of HTTP or of the credentials.
package throttle

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Config sets the limits. Zero fields take the defaults.
type Config struct {
	// Failures is how many failures a source may have in Window before it
	// is refused (default 10).
	Failures int
	// Window is the span Failures are counted over (default 1 minute).
	Window time.Duration
	// Block is how long a source is refused the first time (default 1
	// minute); each further time it doubles, up to MaxBlock.
	Block time.Duration
	// MaxBlock caps the back-off (default 15 minutes). A source that does
	// not fail for that long after its last failure or block starts afresh.
	MaxBlock time.Duration
	// MaxSources caps the table (default 10000 sources, about 2.2 MB).
	MaxSources int
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Defaults for Config's zero fields.
const (
	DefaultFailures   = 10
	DefaultWindow     = time.Minute
	DefaultBlock      = time.Minute
	DefaultMaxBlock   = 15 * time.Minute
	DefaultMaxSources = 10000
)

func (c *Config) defaults() {
	if c.Failures <= 0 {
		c.Failures = DefaultFailures
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Block <= 0 {
		c.Block = DefaultBlock
	}
	if c.MaxBlock <= 0 {
		c.MaxBlock = DefaultMaxBlock
	}
	if c.MaxBlock < c.Block {
		c.MaxBlock = c.Block
	}
	if c.MaxSources <= 0 {
		c.MaxSources = DefaultMaxSources
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Limiter is the failure table. It is safe for concurrent use; the zero
// value is not usable: make one with New.
type Limiter struct {
	cfg Config

	mu      sync.Mutex
	sources map[string]*list.Element // of *entry
	lru     *list.List               // front: least recently failed
}

// entry is what the limiter knows of one source.
type entry struct {
	source       string
	windowStart  time.Time
	failures     int       // in the window that began at windowStart
	strikes      int       // how many times it was refused in a row
	blockedUntil time.Time // refused until then
	lastFailure  time.Time
}

// New makes a Limiter with cfg's limits.
func New(cfg Config) *Limiter {
	cfg.defaults()
	return &Limiter{cfg: cfg, sources: map[string]*list.Element{}, lru: list.New()}
}

// Config returns the limits in force (defaults filled in).
func (l *Limiter) Config() Config { return l.cfg }

// Blocked reports whether source is refused now, and for how long still.
func (l *Limiter) Blocked(source string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el := l.sources[source]
	if el == nil {
		return 0, false
	}
	if wait := el.Value.(*entry).blockedUntil.Sub(l.cfg.Now()); wait > 0 {
		return wait, true
	}
	return 0, false
}

// Fail records a failed attempt by source. It returns how long the source
// is refused from now on, or 0 while it is still allowed to try.
func (l *Limiter) Fail(source string) time.Duration {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var e *entry
	if el := l.sources[source]; el != nil {
		e = el.Value.(*entry)
		l.lru.MoveToBack(el)
		quietSince := e.lastFailure
		if e.blockedUntil.After(quietSince) {
			quietSince = e.blockedUntil
		}
		if now.Sub(quietSince) >= l.cfg.MaxBlock {
			*e = entry{source: source} // quiet for long enough: start afresh
		}
	} else {
		for len(l.sources) >= l.cfg.MaxSources {
			oldest := l.lru.Front()
			l.lru.Remove(oldest)
			delete(l.sources, oldest.Value.(*entry).source)
		}
		e = &entry{source: source}
		l.sources[source] = l.lru.PushBack(e)
	}
	e.lastFailure = now
	if now.Before(e.blockedUntil) {
		return e.blockedUntil.Sub(now)
	}
	if e.failures == 0 || now.Sub(e.windowStart) >= l.cfg.Window {
		e.windowStart, e.failures = now, 0
	}
	e.failures++
	if e.failures < l.cfg.Failures {
		return 0
	}
	e.strikes++
	block := l.cfg.Block
	for i := 1; i < e.strikes && block < l.cfg.MaxBlock; i++ {
		block *= 2
	}
	block = min(block, l.cfg.MaxBlock)
	e.blockedUntil = now.Add(block)
	e.failures = 0
	return block
}

// Len is the number of sources in the table.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

// Source is the key of a remote address ("host:port" or a bare IP): its
// IP, or for IPv6 its /64, the block one host usually holds, so that an
// attacker cannot dodge the limit by hopping addresses within it.
func Source(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
