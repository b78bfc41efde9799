package routing

// The text form of a route (see api.Route):
//
//	[http|https|ws|wss://]HOST[/PATH][:PORT]    e.g. app.example.com/api:8080
//	tcp://LISTEN[:PORT]                         e.g. tcp://5432, tcp://15432:5432

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// routeExamples end every error about a route's text.
const routeExamples = "e.g. app.example.com/api:8080, https://*.example.com, * or tcp://15432:5432"

// ParseRoute reads a route's text form. ws and wss are http and https (a
// WebSocket starts as an HTTP request); the host is lower-cased and a
// trailing "/" of the path dropped, so that FormatRoute gives the one
// spelling Wharf stores.
func ParseRoute(s string) (api.Route, error) {
	r, err := parseRoute(strings.TrimSpace(s))
	if err != nil {
		return api.Route{}, fmt.Errorf("route %q: %w; %s", s, err, routeExamples)
	}
	return r, nil
}

func parseRoute(s string) (api.Route, error) {
	if s == "" {
		return api.Route{}, fmt.Errorf("empty route")
	}
	proto := api.RouteHTTP
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch strings.ToLower(scheme) {
		case "http", "ws":
		case "https", "wss":
			proto = api.RouteHTTPS
		case "tcp":
			return parseTCP(rest)
		default:
			return api.Route{}, fmt.Errorf("unknown scheme %q: want http, https, ws, wss or tcp", scheme)
		}
		s = rest
	}
	r := api.Route{Protocol: proto}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		port, err := parsePort("port", s[i+1:])
		if err != nil {
			return api.Route{}, err
		}
		r.Port, s = port, s[:i]
	}
	host, path, _ := strings.Cut(s, "/")
	if path != "" || strings.Contains(s, "/") {
		path = "/" + path
	}
	r.Host = strings.ToLower(host)
	r.Path = strings.TrimRight(path, "/")
	if err := checkHost(r.Host); err != nil {
		return api.Route{}, err
	}
	if err := checkPath(r.Path); err != nil {
		return api.Route{}, err
	}
	return r, nil
}

// parseTCP reads LISTEN[:PORT] of tcp://.
func parseTCP(s string) (api.Route, error) {
	listen, port, hasPort := strings.Cut(s, ":")
	r := api.Route{Protocol: api.RouteTCP}
	var err error
	if r.Listen, err = parsePort("listen port", listen); err != nil {
		return api.Route{}, fmt.Errorf("%w (a tcp route is tcp://LISTEN[:PORT]: the routers' port, then the container's)", err)
	}
	if hasPort {
		if r.Port, err = parsePort("container port", port); err != nil {
			return api.Route{}, err
		}
	}
	return r, nil
}

// parsePort reads a port from 1 to 65535, digits only.
func parsePort(what, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] < '0' || s[0] > '9' || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%s %q must be a number from 1 to 65535", what, s)
	}
	return n, nil
}

// checkHost accepts a DNS name (lower case), "*.name" (any one or more
// labels in front of name) or "*" (any host).
func checkHost(h string) error {
	switch {
	case h == "":
		return fmt.Errorf("no host: give one, or * for any host")
	case h == "*":
		return nil
	case len(h) > 253:
		return fmt.Errorf("host is longer than 253 characters")
	}
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return fmt.Errorf("host %q: a wildcard is * (any host) or *.example.com (any labels in front of example.com), nothing else", h)
	}
	labels := strings.Split(name, ".")
	digits := true
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("host %q: each dot-separated label must be 1 to 63 letters, digits or '-', not starting or ending with '-'", h)
		}
		for _, c := range []byte(l) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return fmt.Errorf("host %q: %q is not allowed in a host name (letters, digits, '-' and '.')", h, rune(c))
			}
			digits = digits && c >= '0' && c <= '9'
		}
	}
	if digits && len(labels) == 1 {
		return fmt.Errorf("%q is a number, not a host: a TCP port is tcp://%s", h, h)
	}
	return nil
}

// checkPath accepts "" (the root) or "/seg/seg": segments of letters,
// digits, "-._~" and %XX escapes, none empty, "." or "..", no trailing
// "/".
func checkPath(p string) error {
	if p == "" {
		return nil
	}
	if p[0] != '/' || strings.HasSuffix(p, "/") {
		return fmt.Errorf("path %q must start with / and not end with one", p)
	}
	if len(p) > 1024 {
		return fmt.Errorf("path is longer than 1024 characters")
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("path %q has an empty, . or .. segment", p)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-._~", c) >= 0:
			case c == '%' && i+2 < len(seg) && isHex(seg[i+1]) && isHex(seg[i+2]):
				i += 2
			case c == '*':
				return fmt.Errorf("path %q: a path is a prefix already (/api matches /api and /api/x): drop the *", p)
			default:
				return fmt.Errorf("path %q: %q is not allowed in a path (letters, digits, \"-._~/\" and %%XX escapes)", p, rune(c))
			}
		}
	}
	return nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// FormatRoute is r's text form: what ParseRoute reads back as r, and what
// lists show. http is the default scheme and is not written.
func FormatRoute(r api.Route) string {
	var b strings.Builder
	if r.Protocol == api.RouteTCP {
		b.WriteString("tcp://")
		b.WriteString(strconv.Itoa(r.Listen))
	} else {
		if r.Protocol == api.RouteHTTPS {
			b.WriteString("https://")
		}
		b.WriteString(r.Host)
		if r.Path != "/" {
			b.WriteString(r.Path)
		}
	}
	if r.Port != 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(r.Port))
	}
	return b.String()
}

// checkRoute checks a route as a spec holds it: a known protocol, its
// host and path (http, https) or listen port (tcp) in the form ParseRoute
// gives, and a port from 0 (the default) to 65535.
func checkRoute(r api.Route) error {
	if r.Port < 0 || r.Port > 65535 {
		return fmt.Errorf("port must be from 1 to 65535, or 0 for the default; got %d", r.Port)
	}
	switch r.Protocol {
	case api.RouteTCP:
		if r.Host != "" || r.Path != "" {
			return fmt.Errorf("a tcp route has no host or path (tcp://LISTEN[:PORT])")
		}
		if r.Listen < 1 || r.Listen > 65535 {
			return fmt.Errorf("a tcp route's listen port must be from 1 to 65535, got %d", r.Listen)
		}
		return nil
	case "", api.RouteHTTP, api.RouteHTTPS:
	default:
		return fmt.Errorf("protocol %q: want http, https or tcp", r.Protocol)
	}
	if r.Listen != 0 {
		return fmt.Errorf("only tcp routes have a listen port; an http or https route is served on the routers' HTTP or HTTPS port")
	}
	if r.Host != strings.ToLower(r.Host) {
		return fmt.Errorf("host %q must be lower case", r.Host)
	}
	if err := checkHost(r.Host); err != nil {
		return err
	}
	if r.Path == "/" {
		return nil
	}
	return checkPath(r.Path)
}
