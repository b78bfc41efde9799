package gateway

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/relay/wire"
)

// The relay hub carries the overlay frames of nodes that cannot reach
// each other's VXLAN port (see internal/relay): each such agent holds one
// stream open (POST /agent/v1/relay, full duplex, framed by package
// wire), and the hub forwards each frame to the stream of the node it
// names. It is a best-effort datagram path: bounded queues, a frame that
// does not fit is dropped (TCP in the containers recovers), no goroutine
// per frame.
//
// Isolation: a frame goes only between two overlay nodes of the same
// organization, and only on a VNI of one of that organization's networks;
// anything else is dropped and counted.

// relayQueue is how many frames wait for one node's stream.
const relayQueue = 512

// relayCacheTTL is how long the hub trusts what it read of the network
// state (a node's organization, an organization's VNIs).
const relayCacheTTL = time.Second

// relayBatch is the most bytes written to a stream at once.
const relayBatch = 64 << 10

// relayPolicy is what the hub asks of the network state.
type relayPolicy interface {
	// relayOrg is an overlay node's organization (ok false: unknown, or
	// it runs no overlay).
	relayOrg(node string) (org string, ok bool)
	// relayVNIs are the VNIs of an organization's networks that hold
	// live containers.
	relayVNIs(org string) map[uint32]bool
}

type relayHub struct {
	policy relayPolicy

	mu    sync.Mutex
	links map[string]*relayLink
	orgs  map[string]cachedOrg
	vnis  map[string]cachedVNIs

	forwarded, dropOrg, dropVNI, dropOffline, dropFull atomic.Uint64
}

type relayLink struct {
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func (l *relayLink) stop() { l.once.Do(func() { close(l.done) }) }

type cachedOrg struct {
	org string
	ok  bool
	at  time.Time
}

type cachedVNIs struct {
	set map[uint32]bool
	at  time.Time
}

// relayStats counts the hub's frames.
type relayStats struct {
	Forwarded, DropOrg, DropVNI, DropOffline, DropFull uint64
}

func newRelayHub(p relayPolicy) *relayHub {
	return &relayHub{policy: p, links: map[string]*relayLink{}, orgs: map[string]cachedOrg{}, vnis: map[string]cachedVNIs{}}
}

func (h *relayHub) stats() relayStats {
	return relayStats{Forwarded: h.forwarded.Load(), DropOrg: h.dropOrg.Load(), DropVNI: h.dropVNI.Load(),
		DropOffline: h.dropOffline.Load(), DropFull: h.dropFull.Load()}
}

// handleRelay serves the session's node's relay stream.
func (s *session) handleRelay(w http.ResponseWriter, r *http.Request) {
	h := s.g.relayHub()
	s.log.Debug("relay stream opened")
	h.serve(s.node, w, r)
	s.log.Debug("relay stream closed", "hub", h.stats())
}

// relayHub is the gateway's hub, made on first use.
func (g *Gateway) relayHub() *relayHub {
	g.relayOnce.Do(func() { g.relay = newRelayHub(g.net) })
	return g.relay
}

// serve runs node's stream until either side ends it; a new stream of the
// same node replaces this one.
func (h *relayHub) serve(node string, w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	// The link is registered before the answer starts: once the agent
	// sees its stream open, frames to it are queued.
	link := &relayLink{out: make(chan []byte, relayQueue), done: make(chan struct{})}
	h.mu.Lock()
	old := h.links[node]
	h.links[node] = link
	h.mu.Unlock()
	if old != nil {
		old.stop()
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		link.stop()
		h.unlink(node, link)
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer link.stop()
		h.writeLoop(link, w, rc, r)
	})
	rd := wire.NewReader(r.Body)
	for {
		rec, err := rd.Read()
		if err != nil {
			break
		}
		select {
		case <-link.done:
		default:
			h.route(node, rec)
			continue
		}
		break
	}
	link.stop()
	h.unlink(node, link)
	wg.Wait()
}

// unlink forgets node's link unless a newer stream replaced it.
func (h *relayHub) unlink(node string, link *relayLink) {
	h.mu.Lock()
	if h.links[node] == link {
		delete(h.links, node)
	}
	h.mu.Unlock()
}

// writeLoop writes the frames queued for a link, several at a time.
func (h *relayHub) writeLoop(link *relayLink, w http.ResponseWriter, rc *http.ResponseController, r *http.Request) {
	batch := make([]byte, 0, relayBatch)
	for {
		var rec []byte
		select {
		case <-link.done:
			return
		case <-r.Context().Done():
			return
		case rec = <-link.out:
		}
		batch = append(batch[:0], rec...)
	more:
		for len(batch) < relayBatch {
			select {
			case rec = <-link.out:
				batch = append(batch, rec...)
			default:
				break more
			}
		}
		if _, err := w.Write(batch); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// route forwards one frame from src to the node it names, or drops it.
func (h *relayHub) route(src string, rec wire.Record) {
	if rec.Node == src {
		h.dropOrg.Add(1)
		return
	}
	now := time.Now()
	h.mu.Lock()
	srcOrg, ok1 := h.orgLocked(src, now)
	dstOrg, ok2 := h.orgLocked(rec.Node, now)
	if !ok1 || !ok2 || srcOrg != dstOrg {
		h.mu.Unlock()
		h.dropOrg.Add(1)
		return
	}
	if !h.vniLocked(srcOrg, rec.VNI, now) {
		h.mu.Unlock()
		h.dropVNI.Add(1)
		return
	}
	link := h.links[rec.Node]
	h.mu.Unlock()
	if link == nil {
		h.dropOffline.Add(1)
		return
	}
	out, err := wire.Append(make([]byte, 0, 2+1+len(src)+4+len(rec.Frame)), wire.Record{Node: src, VNI: rec.VNI, Frame: rec.Frame})
	if err != nil {
		h.dropFull.Add(1)
		return
	}
	select {
	case link.out <- out:
		h.forwarded.Add(1)
	default:
		h.dropFull.Add(1)
	}
}

// orgLocked is node's organization, from the cache or the policy; h.mu
// is held (the policy takes its own lock, never the hub's).
func (h *relayHub) orgLocked(node string, now time.Time) (string, bool) {
	c, ok := h.orgs[node]
	if !ok || now.Sub(c.at) > relayCacheTTL {
		org, known := h.policy.relayOrg(node)
		c = cachedOrg{org: org, ok: known, at: now}
		if len(h.orgs) > 1<<16 {
			clear(h.orgs)
		}
		h.orgs[node] = c
	}
	return c.org, c.ok
}

func (h *relayHub) vniLocked(org string, vni uint32, now time.Time) bool {
	c, ok := h.vnis[org]
	if !ok || now.Sub(c.at) > relayCacheTTL {
		c = cachedVNIs{set: h.policy.relayVNIs(org), at: now}
		h.vnis[org] = c
	}
	return c.set[vni]
}

// relayOrg implements relayPolicy.
func (n *netState) relayOrg(node string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd, ok := n.nodes[node]
	return nd.org, ok && nd.address != ""
}

// relayVNIs implements relayPolicy.
func (n *netState) relayVNIs(org string) map[uint32]bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	set := map[uint32]bool{}
	for _, c := range n.ctrs {
		if c.org != org || !c.live {
			continue
		}
		for _, att := range c.nets {
			if att.VNI > 0 {
				set[uint32(att.VNI)] = true
			}
		}
	}
	return set
}
