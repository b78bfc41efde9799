package netdns

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// forwardTimeout bounds each exchange with one upstream.
const forwardTimeout = 2 * time.Second

// forward sends r to the upstreams in turn and returns the first answer;
// SERVFAIL when none answers. For a client over UDP a truncated answer is
// returned as it is (the client retries over TCP); over TCP it is asked
// again over TCP.
func (s *Server) forward(r *dns.Msg, clientTCP bool) *dns.Msg {
	own := *s.own.Load()
	for _, up := range s.upstreams {
		if own[up] {
			continue
		}
		resp, err := exchange(r, up, "udp")
		if err == nil && resp.Truncated && clientTCP {
			resp, err = exchange(r, up, "tcp")
		}
		if err != nil {
			s.log.Debug("netdns: upstream did not answer", "upstream", up, "name", r.Question[0].Name, "err", err)
			continue
		}
		resp.Id = r.Id
		return resp
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	m.RecursionAvailable = true
	return m
}

func exchange(r *dns.Msg, upstream, network string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: forwardTimeout, UDPSize: dns.MaxMsgSize}
	resp, _, err := c.Exchange(r, upstream)
	return resp, err
}

// resolvers is what a resolv.conf says: its nameservers ("host:53") and
// search domains.
type resolvers struct {
	servers []string
	search  []string
}

// readResolvConf reads path's nameserver, search and domain lines.
func readResolvConf(path string) (resolvers, error) {
	var rc resolvers
	f, err := os.Open(path)
	if err != nil {
		return rc, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(fields[1]); err == nil {
				rc.servers = append(rc.servers, netip.AddrPortFrom(a.Unmap(), 53).String())
			}
		case "search", "domain":
			rc.search = append(rc.search[:0], fields[1:]...) // the last line wins, as in glibc
		}
	}
	return rc, sc.Err()
}
