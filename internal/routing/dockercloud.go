package routing

// Docker Cloud's dockercloud/haproxy (and tutum/haproxy) read their
// settings from the environment of the services they balance; Wharf's
// router reads the same variables, as that image documented them.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// The variables.
const (
	EnvVirtualHost = "VIRTUAL_HOST"
	EnvWeight      = "VIRTUAL_HOST_WEIGHT"
	EnvBalance     = "BALANCE"
	EnvTCPPorts    = "TCP_PORTS"
	EnvExclude     = "EXCLUDE_PORTS"
	EnvForceSSL    = "FORCE_SSL"
	EnvHTTPCheck   = "HTTP_CHECK"
	EnvCookie      = "COOKIE"
	EnvSSLCert     = "SSL_CERT"
)

// envField names a variable in errors.
func envField(name string) string { return "spec.env." + name }

// splitList is a comma-separated list with blanks trimmed and empty
// entries dropped.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// virtualHosts reads VIRTUAL_HOST: [scheme://]host[:port][/path], ...
// The port is the proxy's (80 or 443 here: the routers' HTTP and HTTPS
// ports); a path ending in * is a prefix, as every Wharf path is. A host
// and path given twice ("*/path, */path/") is one route.
func virtualHosts(v string) ([]api.Route, error) {
	var out []api.Route
	for _, item := range splitList(v) {
		r, err := virtualHost(item)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func virtualHost(s string) (api.Route, error) {
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		scheme, rest = "", s
	}
	r := api.Route{Protocol: api.RouteHTTP}
	switch strings.ToLower(scheme) {
	case "", "http", "ws":
	case "https", "wss":
		r.Protocol = api.RouteHTTPS
	default:
		return api.Route{}, fmt.Errorf("unknown scheme %q: want http, https, ws or wss", scheme)
	}
	hostPort, path, hasPath := strings.Cut(rest, "/")
	host, port, hasPort := strings.Cut(hostPort, ":")
	if hasPort {
		n, err := parsePort("port", port)
		if err != nil {
			return api.Route{}, err
		}
		switch {
		case n == 80 && r.Protocol == api.RouteHTTP:
		case n == 443 && (r.Protocol == api.RouteHTTPS || scheme == ""):
			r.Protocol = api.RouteHTTPS
		default:
			return api.Route{}, fmt.Errorf("port %d: the routers serve HTTP on port 80 and HTTPS on 443 only; for another port use a tcp route (TCP_PORTS=%d, or --route tcp://%d:PORT)", n, n, n)
		}
	}
	r.Host = strings.ToLower(host)
	if hasPath {
		path = "/" + strings.TrimSuffix(path, "*")
		r.Path = strings.TrimRight(path, "/")
	}
	if err := checkHost(r.Host); err != nil {
		return api.Route{}, err
	}
	if err := checkPath(r.Path); err != nil {
		return api.Route{}, fmt.Errorf("%w (Wharf routes by path prefix: /path/* and /path are both the prefix /path)", err)
	}
	return r, nil
}

// tcpPorts reads TCP_PORTS: "9000, 22": a tcp route from each port of
// the routers to the same port of the containers.
func tcpPorts(v string) ([]api.Route, error) {
	var out []api.Route
	for _, item := range splitList(v) {
		if p, ok := strings.CutSuffix(strings.ToLower(item), "/ssl"); ok {
			return nil, fmt.Errorf("%q: Wharf's router does not terminate TLS on tcp routes (/ssl): terminate it in the container (TCP_PORTS=%s), or serve HTTPS with VIRTUAL_HOST=https://HOST", item, p)
		}
		n, err := parsePort("port", item)
		if err != nil {
			return nil, err
		}
		r := api.Route{Protocol: api.RouteTCP, Listen: n, Port: n}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// portList reads EXCLUDE_PORTS: "8083, 8086".
func portList(v string) ([]int, error) {
	var out []int
	for _, item := range splitList(v) {
		n, err := parsePort("port", item)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// httpCheck reduces haproxy's `option httpchk` argument to "METHOD PATH":
// "OPTIONS * HTTP/1.1\r\nHost:\ www" is "OPTIONS *"; a URI alone is
// checked with OPTIONS, haproxy's default method.
func httpCheck(v string) (string, error) {
	first := v
	for _, sep := range []string{`\r\n`, "\r\n", `\n`, "\n"} {
		first, _, _ = strings.Cut(first, sep)
	}
	f := strings.Fields(first)
	switch {
	case len(f) == 0:
		return "", nil
	case len(f) == 1:
		f = []string{"OPTIONS", f[0]}
	case len(f) > 3:
		return "", fmt.Errorf("%q: want [METHOD] URI [VERSION], as haproxy's option httpchk", v)
	}
	check := strings.ToUpper(f[0]) + " " + f[1]
	if err := checkHTTPCheck(check); err != nil {
		return "", fmt.Errorf("%q: %w", v, err)
	}
	return check, nil
}

// cookieName is the name of haproxy's `cookie` setting: "SRV insert
// indirect nocache" is SRV.
func cookieName(v string) (string, error) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return "", nil
	}
	if err := checkCookie(f[0]); err != nil {
		return "", fmt.Errorf("%q: %w", v, err)
	}
	return f[0], nil
}

// envOptions fills the options opts leaves unset from the environment.
func envOptions(env map[string]string, opts *api.RouteOptions, res *Resolved) error {
	if v, ok := env[EnvBalance]; ok && opts.Balance == "" {
		b := strings.ToLower(strings.TrimSpace(v))
		if !slices.Contains(balances, b) {
			return invalid(envField(EnvBalance), "%q: Wharf's router balances by %s", v, strings.Join(balances, ", "))
		}
		opts.Balance = b
	}
	if v, ok := env[EnvCookie]; ok && opts.Cookie == "" {
		c, err := cookieName(v)
		if err != nil {
			return invalid(envField(EnvCookie), "%v", err)
		}
		opts.Cookie = c
	}
	// dockercloud/haproxy: "if set (any value)".
	if _, ok := env[EnvForceSSL]; ok {
		opts.ForceSSL = true
	}
	if v, ok := env[EnvHTTPCheck]; ok && opts.HTTPCheck == "" {
		c, err := httpCheck(v)
		if err != nil {
			return invalid(envField(EnvHTTPCheck), "%v", err)
		}
		opts.HTTPCheck = c
	}
	if v, ok := env[EnvWeight]; ok && opts.Weight == 0 && strings.TrimSpace(v) != "" {
		w, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || w < -maxWeight || w > maxWeight {
			return invalid(envField(EnvWeight), "%q must be a whole number from %d to %d", v, -maxWeight, maxWeight)
		}
		opts.Weight = w
	}
	if v, ok := env[EnvSSLCert]; ok && opts.Certificate == "" && strings.TrimSpace(v) != "" {
		// One line, with "\n" (two characters) between the lines.
		res.EnvCertificate = strings.ReplaceAll(v, `\n`, "\n")
	}
	return nil
}
