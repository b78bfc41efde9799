package netdns

import (
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wharfhq/wharf/api"
)

// Config configures a Server.
type Config struct {
	// Upstreams are the resolvers ("host:port") names that are not ours
	// go to, tried in order. Empty: the nameservers of /etc/resolv.conf
	// (port 53), read once by New. An upstream that is one of the
	// Server's own listen addresses is skipped.
	Upstreams []string
	// Search are the search domains stripped from a query that is not
	// found as is (see the package comment). Nil: resolv.conf's search and
	// domain lines.
	Search []string
	// Log receives the Server's warnings; nil discards them.
	Log *slog.Logger
}

// Server answers DNS queries on the addresses given to Listen. Its methods
// are safe for concurrent use; queries take no lock.
type Server struct {
	log       *slog.Logger
	upstreams []string
	search    []string
	tables    atomic.Pointer[tables]
	// own holds the listen addresses ("host:port" strings) as a
	// map[string]bool snapshot, read without a lock by forwarding.
	own atomic.Pointer[map[string]bool]

	// forwards holds a token per forwarded UDP query in flight.
	forwards chan struct{}

	mu        sync.Mutex
	listeners map[netip.AddrPort]*listener
	closed    bool
}

// resolvConf is the file New reads when Config leaves Upstreams or Search
// empty (a variable for tests).
var resolvConf = "/etc/resolv.conf"

// New returns a Server with no names and no listener.
func New(cfg Config) *Server {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: log, listeners: map[netip.AddrPort]*listener{}, forwards: make(chan struct{}, maxForwards)}
	s.upstreams, s.search = slices.Clone(cfg.Upstreams), normalizeAll(cfg.Search)
	if len(cfg.Upstreams) == 0 || cfg.Search == nil {
		rc, err := readResolvConf(resolvConf)
		if err != nil {
			log.Warn("netdns: cannot read the node's resolvers; names that are not the network's will get SERVFAIL until the agent restarts with a readable file",
				"file", resolvConf, "err", err)
		}
		if len(cfg.Upstreams) == 0 {
			s.upstreams = rc.servers
		}
		if cfg.Search == nil {
			s.search = normalizeAll(rc.search)
		}
	}
	for i, up := range s.upstreams {
		if ap, err := netip.ParseAddrPort(up); err == nil {
			s.upstreams[i] = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String() // as publishOwn writes it
		}
	}
	s.tables.Store(build(nil))
	s.own.Store(&map[string]bool{})
	return s
}

func normalizeAll(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = normalize(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Update replaces every network's names at once: the next query sees nets
// and nothing older.
func (s *Server) Update(nets []api.NodeNetwork) {
	s.tables.Store(build(nets))
}
