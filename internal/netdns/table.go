package netdns

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// tables is one immutable snapshot of every network's names, swapped as a
// whole by Update.
type tables struct {
	// nets are the networks by subnet, longest prefix first.
	nets []*table
	// all is the union of every network, for sources outside all subnets.
	all *table
	// reverse maps "<reversed address>.in-addr.arpa" to a name, for PTR.
	reverse map[string]string
}

// table is the names of one subnet (or of all of them).
type table struct {
	prefix netip.Prefix
	names  map[string][]net.IP
	scopes map[netip.Addr]string
}

func newTable(p netip.Prefix) *table {
	return &table{prefix: p, names: map[string][]net.IP{}, scopes: map[netip.Addr]string{}}
}

// add merges one network's names and scopes into t, skipping addresses
// that do not parse as IPv4 and keeping each address once per name.
func (t *table) add(n api.NodeNetwork) {
	for name, addrs := range n.Names {
		key := normalize(name)
		if key == "" {
			continue
		}
		list, ok := t.names[key]
		if !ok {
			list = []net.IP{}
		}
		for _, a := range addrs {
			ip, err := netip.ParseAddr(a)
			if err != nil || !ip.Unmap().Is4() {
				continue
			}
			b := ip.Unmap().As4()
			v := net.IP(b[:])
			if !slices.ContainsFunc(list, v.Equal) {
				list = append(list, v)
			}
		}
		t.names[key] = list
	}
	for a, stack := range n.Scopes {
		ip, err := netip.ParseAddr(a)
		if err != nil || stack == "" {
			continue
		}
		t.scopes[ip.Unmap()] = normalize(stack)
	}
}

// build precomputes the lookup tables of nets. Networks whose subnet does
// not parse take part in the union only.
func build(nets []api.NodeNetwork) *tables {
	ts := &tables{all: newTable(netip.Prefix{}), reverse: map[string]string{}}
	bySubnet := map[netip.Prefix]*table{}
	for _, n := range nets {
		ts.all.add(n)
		p, err := netip.ParsePrefix(n.Subnet)
		if err != nil {
			continue
		}
		p = p.Masked()
		t := bySubnet[p]
		if t == nil {
			t = newTable(p)
			bySubnet[p] = t
			ts.nets = append(ts.nets, t)
		}
		t.add(n)
	}
	slices.SortFunc(ts.nets, func(a, b *table) int { return cmp.Compare(b.prefix.Bits(), a.prefix.Bits()) })
	ts.buildReverse()
	return ts
}

// buildReverse picks, for each address, the name with the fewest
// addresses that holds it (a container's own name over its service's),
// then a name without "tasks.", then the longest, then the first in order.
func (ts *tables) buildReverse() {
	better := func(a, b string) bool {
		la, lb := len(ts.all.names[a]), len(ts.all.names[b])
		if la != lb {
			return la < lb
		}
		ta, tb := strings.HasPrefix(a, "tasks."), strings.HasPrefix(b, "tasks.")
		if ta != tb {
			return tb
		}
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	}
	best := map[string]string{}
	for name, ips := range ts.all.names {
		for _, ip := range ips {
			k := reverseName(ip)
			if cur, ok := best[k]; !ok || better(name, cur) {
				best[k] = name
			}
		}
	}
	ts.reverse = best
}

// reverseName is ip's PTR name without the trailing dot.
func reverseName(ip net.IP) string {
	v := ip.To4()
	var b strings.Builder
	for i := 3; i >= 0; i-- {
		b.WriteString(itoa(v[i]))
		b.WriteByte('.')
	}
	b.WriteString("in-addr.arpa")
	return b.String()
}

func itoa(v byte) string {
	if v < 10 {
		return string('0' + v)
	}
	var buf [3]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = '0' + v%10
		v /= 10
	}
	return string(buf[i:])
}

// forSource is the table for a query from src.
func (ts *tables) forSource(src netip.Addr) *table {
	if src.IsValid() {
		for _, t := range ts.nets {
			if t.prefix.Contains(src) {
				return t
			}
		}
	}
	return ts.all
}

// normalize lowers name and drops one trailing dot.
func normalize(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// lookup finds qname (normalized) for a query from src: "<name>.<stack>"
// first when src is in a stack, then the name itself, then the name
// without one of the search domains. ok is false when the name is not
// ours (it is to be forwarded); ips is empty for a name of ours without a
// ready address.
func (ts *tables) lookup(qname string, src netip.Addr, search []string) (ips []net.IP, ok bool) {
	t := ts.forSource(src)
	if ips, ok := t.find(qname, src); ok {
		return ips, true
	}
	for _, d := range search {
		if len(qname) > len(d)+1 && strings.HasSuffix(qname, d) && qname[len(qname)-len(d)-1] == '.' {
			if ips, ok := t.find(qname[:len(qname)-len(d)-1], src); ok {
				return ips, true
			}
		}
	}
	return nil, false
}

func (t *table) find(name string, src netip.Addr) ([]net.IP, bool) {
	if stack, ok := t.scopes[src]; ok && src.IsValid() {
		if ips, ok := t.names[name+"."+stack]; ok {
			return ips, true
		}
	}
	ips, ok := t.names[name]
	return ips, ok
}
