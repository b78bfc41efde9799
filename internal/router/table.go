package router

// The compiled table: what Apply makes of an api.RouteTable, never changed
// after it is swapped in, and how a request finds its route in it.

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// compiled is one route table, ready to serve.
type compiled struct {
	rev    int64
	router bool
	plain  hostTable // the HTTP listener: plain routes and ForceSSL redirects
	secure hostTable // the HTTPS listener: TLS routes
	tcp    map[int]*tcpRoute
	certs  *certStore
}

// httpRoute is one host and path prefix with its pool of backends.
type httpRoute struct {
	api.HTTPRoute
	host     hostPattern
	path     string // normalized: "/" or a prefix without a trailing "/"
	label    string // for metrics and the access log
	redirect bool   // a TLS route seen from the HTTP listener: 308 to HTTPS
	pool     *pool
	m        *routeMetrics
}

// tcpRoute is one listening port with its pool of backends.
type tcpRoute struct {
	api.TCPRoute
	label string
	pool  *pool
	m     *routeMetrics
}

// hostPattern is a route's host: exact ("app.example.com"), a wildcard
// ("*.example.com": suffix ".example.com") or any ("*").
type hostPattern struct {
	kind  int    // hostExact, hostWildcard, hostAny
	value string // the exact name, or the wildcard's suffix with its dot
}

const (
	hostExact = iota
	hostWildcard
	hostAny
)

func parseHostPattern(h string) hostPattern {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	switch {
	case h == "" || h == "*":
		return hostPattern{kind: hostAny}
	case strings.HasPrefix(h, "*."):
		return hostPattern{kind: hostWildcard, value: h[1:]}
	default:
		return hostPattern{kind: hostExact, value: h}
	}
}

// match says whether the normalized host name matches the pattern; a
// wildcard wants one or more labels in front of its suffix.
func (p hostPattern) match(host string) bool {
	switch p.kind {
	case hostExact:
		return host == p.value
	case hostWildcard:
		return len(host) > len(p.value) && strings.HasSuffix(host, p.value)
	default:
		return true
	}
}

// normalizeHost lowercases a Host header or SNI name and strips its port
// and trailing dot.
func normalizeHost(h string) string {
	if host, port, err := net.SplitHostPort(h); err == nil && port != "" {
		h = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// normalizePath makes a route's path prefix: "" is "/", and a trailing
// "/" is dropped so that "/api/" and "/api" both match /api and /api/x.
func normalizePath(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if t := strings.TrimRight(p, "/"); t != "" {
		return t
	}
	return "/"
}

// pathMatch is a segment-aware prefix match: "/api" matches /api, /api/
// and /api/x, not /apix.
func pathMatch(prefix, path string) bool {
	if prefix == "/" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}

// hostTable finds the most specific route for a host and path: exact
// hosts first, then wildcards (longest suffix first), then "*"; within a
// host, longer paths first, then higher weight.
type hostTable struct {
	exact     map[string][]*httpRoute
	wildcards []*httpRoute
	any       []*httpRoute
}

func newHostTable(routes []*httpRoute) hostTable {
	slices.SortStableFunc(routes, compareRoutes)
	t := hostTable{exact: map[string][]*httpRoute{}}
	for _, rt := range routes {
		switch rt.host.kind {
		case hostExact:
			t.exact[rt.host.value] = append(t.exact[rt.host.value], rt)
		case hostWildcard:
			t.wildcards = append(t.wildcards, rt)
		default:
			t.any = append(t.any, rt)
		}
	}
	return t
}

// compareRoutes orders routes most specific first: host, then path; where
// those tie, a plain route before a ForceSSL redirect, then higher weight,
// then services by name for a stable order.
func compareRoutes(a, b *httpRoute) int {
	if c := cmp.Compare(a.host.kind, b.host.kind); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.host.value), len(a.host.value)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.host.value, b.host.value); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.path), len(a.path)); c != 0 {
		return c
	}
	if a.redirect != b.redirect {
		if a.redirect {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(b.Weight, a.Weight); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

func (t *hostTable) match(host, path string) *httpRoute {
	for _, rt := range t.exact[host] {
		if pathMatch(rt.path, path) {
			return rt
		}
	}
	for _, rt := range t.wildcards {
		if rt.host.match(host) && pathMatch(rt.path, path) {
			return rt
		}
	}
	for _, rt := range t.any {
		if pathMatch(rt.path, path) {
			return rt
		}
	}
	return nil
}

// httpLabel names an HTTP route in metrics and logs: "web app.example.com/api".
func httpLabel(r api.HTTPRoute) string {
	host := r.Host
	if host == "" {
		host = "*"
	}
	scheme := "http://"
	if r.TLS {
		scheme = "https://"
	}
	return r.Name + " " + scheme + host + normalizePath(r.Path)
}

// tcpLabel names a TCP route: "db tcp:5432".
func tcpLabel(r api.TCPRoute) string {
	return r.Name + " tcp:" + strconv.Itoa(r.Listen)
}
