package cli

// The route flags of `service create` and `service update`: --route (and
// --route-add, --route-rm) and the route options.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/routing"
)

// routeFlags are the route flags; on create, routes are --route's, on
// update --route-add's.
type routeFlags struct {
	routes, rm                          []string
	balance, cookie, check, proxy, cert string
	drain                               string
	forceSSL                            bool
	weight                              int
	fs                                  *pflag.FlagSet // where register put them
	routeFlag                           string         // "route" or "route-add"
}

// routeHelp is the grammar --route takes.
const routeHelp = "[https://]HOST[/PATH][:PORT] or tcp://LISTEN[:PORT], e.g. app.example.com/api:8080, https://*.example.com, * (any host), tcp://15432:5432; PORT is the container port (default: the service's only published or exposed port, or $PORT with the exec driver)"

// register adds the flags; update names them for `service update`.
func (f *routeFlags) register(fs *pflag.FlagSet, update bool) {
	f.fs, f.routeFlag = fs, "route"
	if update {
		f.routeFlag = "route-add"
		fs.StringArrayVar(&f.routes, "route-add", nil, "route to add, replacing one of the same host and path (or tcp port): "+routeHelp+"; repeatable")
		fs.StringArrayVar(&f.rm, "route-rm", nil, "route to remove, as 'wharf router ls' shows it (the :PORT may be left out); repeatable")
	} else {
		fs.StringArrayVar(&f.routes, "route", nil, "a way in through the routers: "+routeHelp+"; repeatable")
	}
	fs.StringVar(&f.balance, "route-balance", "", "how routers spread requests: roundrobin (default), leastconn or source (by client address)")
	fs.StringVar(&f.cookie, "route-cookie", "", "sticky sessions: the name of a cookie the routers set to name the container")
	fs.BoolVar(&f.forceSSL, "route-force-ssl", false, "redirect plain HTTP requests of the https routes to HTTPS")
	fs.StringVar(&f.check, "route-check", "", "a request routers send each container every few seconds, such as /healthz or 'HEAD /healthz'; a failing one gets no new requests")
	fs.StringVar(&f.proxy, "route-proxy-protocol", "", "send tcp routes' connections with a PROXY protocol header: v1 or v2")
	fs.StringVar(&f.cert, "route-cert", "", "secret holding the https routes' certificate and key, PEM (default: one by ACME, when the server has it)")
	fs.IntVar(&f.weight, "route-weight", 0, "order of routes whose host and path tie: higher first (Docker Cloud's VIRTUAL_HOST_WEIGHT)")
	fs.StringVar(&f.drain, "route-drain", "", "how long a container that stops being routed keeps running before it is stopped, such as 5s (default 2s)")
}

// parseRoutes reads the routes flag gave.
func parseRoutes(flag string, texts []string) ([]api.Route, error) {
	var out []api.Route
	for _, s := range texts {
		r, err := routing.ParseRoute(s)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// changed says the flag name was given.
func (f *routeFlags) changed(name string) bool { return f.fs != nil && f.fs.Changed(name) }

// options is cur with the option flags that were given set.
func (f *routeFlags) options(cur api.RouteOptions) (api.RouteOptions, error) {
	o, changed := cur, f.changed
	for name, set := range map[string]func(){
		"route-balance":        func() { o.Balance = strings.ToLower(f.balance) },
		"route-cookie":         func() { o.Cookie = f.cookie },
		"route-force-ssl":      func() { o.ForceSSL = f.forceSSL },
		"route-check":          func() { o.HTTPCheck = f.check },
		"route-proxy-protocol": func() { o.ProxyProtocol = strings.ToLower(f.proxy) },
		"route-cert":           func() { o.Certificate = f.cert },
		"route-weight":         func() { o.Weight = f.weight },
	} {
		if changed(name) {
			set()
		}
	}
	if changed("route-drain") {
		d, err := time.ParseDuration(f.drain)
		if err != nil || d < 0 {
			return o, fmt.Errorf("--route-drain %q: want a duration such as 5s or 500ms", f.drain)
		}
		o.Drain = int(d.Milliseconds())
	}
	return o, nil
}

// optionFlags are the names of the option flags.
var optionFlags = []string{"route-balance", "route-cookie", "route-force-ssl", "route-check", "route-proxy-protocol", "route-cert", "route-weight", "route-drain"}

// mergeRoutes is cur without the routes rm names (by text; a text without
// a port also names the route of that host and path, or tcp port, with
// one) and those add replaces, then add's.
func mergeRoutes(cur, add []api.Route, rm []string) ([]api.Route, error) {
	key := func(r api.Route) string { r.Port = 0; return routing.FormatRoute(r) }
	drop := map[string]bool{}
	for _, s := range rm {
		r, err := routing.ParseRoute(s)
		if err != nil {
			return nil, fmt.Errorf("--route-rm: %w", err)
		}
		match := slices.IndexFunc(cur, func(c api.Route) bool { return routing.FormatRoute(c) == routing.FormatRoute(r) })
		if match < 0 && r.Port == 0 {
			match = slices.IndexFunc(cur, func(c api.Route) bool { return key(c) == key(r) })
		}
		if match < 0 {
			have := make([]string, 0, len(cur))
			for _, c := range cur {
				have = append(have, routing.FormatRoute(c))
			}
			return nil, fmt.Errorf("--route-rm %q: the service has no such route; its routes: %s (routes of VIRTUAL_HOST or TCP_PORTS go with --env-rm)", s, orDash(strings.Join(have, ", ")))
		}
		drop[routing.FormatRoute(cur[match])] = true
	}
	for _, a := range add {
		for _, c := range cur {
			if key(c) == key(a) {
				drop[routing.FormatRoute(c)] = true
			}
		}
	}
	var out []api.Route
	for _, c := range cur {
		if !drop[routing.FormatRoute(c)] {
			out = append(out, c)
		}
	}
	out = append(out, add...)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
