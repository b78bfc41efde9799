package routing

import (
	"cmp"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// Table is the route table of one organization at revision rev: every
// served route of its live services with its ready backends, sorted
// most specific first; the certificates the https routes name; and, when
// the server has an ACME directory, the hosts routers may get
// certificates for. A route is left out when its host and path (or tcp
// port) belongs to an older service, or it is https with no certificate
// to serve; Status says why.
func Table(in Inputs, rev int64) *api.RouteTable {
	t := &api.RouteTable{Revision: rev, Router: true}
	p := makePlan(in)
	certs := map[string]string{}
	var acmeHosts []string
	for _, pr := range p.routes {
		if pr.omitted {
			continue
		}
		backends := pr.backends
		if backends == nil {
			backends = []api.Backend{}
		}
		if pr.route.Protocol == api.RouteTCP {
			t.TCP = append(t.TCP, api.TCPRoute{Service: pr.svc.ID, Name: pr.svc.Name, Listen: pr.route.Listen, RouteOptions: pr.opts, Backends: backends})
			continue
		}
		h := api.HTTPRoute{Service: pr.svc.ID, Name: pr.svc.Name, TLS: pr.route.Protocol == api.RouteHTTPS, Host: pr.route.Host,
			Path: cmp.Or(pr.route.Path, "/"), Certificate: pr.cert, RouteOptions: pr.opts, Backends: backends}
		t.HTTP = append(t.HTTP, h)
		switch {
		case pr.cert != "":
			certs[pr.cert] = pr.certPEM
		case h.TLS:
			acmeHosts = append(acmeHosts, h.Host)
		}
	}
	slices.SortStableFunc(t.HTTP, compareHTTP)
	slices.SortStableFunc(t.TCP, func(a, b api.TCPRoute) int { return cmp.Compare(a.Listen, b.Listen) })
	for _, name := range sortedKeys(certs) {
		t.Certificates = append(t.Certificates, api.RouteCertificate{Secret: name, PEM: certs[name]})
	}
	if in.ACME != nil {
		acme := *in.ACME
		slices.Sort(acmeHosts)
		acme.Hosts = slices.Compact(acmeHosts)
		t.ACME = &acme
	}
	return t
}

// hostRank orders hosts: exact names (0) before wildcards (1) before "*"
// (2).
func hostRank(h string) int {
	switch {
	case h == "*":
		return 2
	case strings.HasPrefix(h, "*."):
		return 1
	}
	return 0
}

// compareHTTP sorts routes most specific first: exact hosts, then
// wildcards, longer first, then "*"; within a host, longer paths first;
// then higher weight, then service name (and plain HTTP before HTTPS).
func compareHTTP(a, b api.HTTPRoute) int {
	return cmp.Or(
		cmp.Compare(hostRank(a.Host), hostRank(b.Host)),
		cmp.Compare(len(b.Host), len(a.Host)),
		strings.Compare(a.Host, b.Host),
		cmp.Compare(len(b.Path), len(a.Path)),
		strings.Compare(a.Path, b.Path),
		cmp.Compare(b.Weight, a.Weight),
		strings.Compare(a.Name, b.Name),
		boolRank(a.TLS)-boolRank(b.TLS),
	)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
