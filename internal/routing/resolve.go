package routing

// A service's effective routes: its own, or Docker Cloud's variables',
// plus its ingress ports; each with the container port it goes to.

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/wharfhq/wharf/api"
)

// Resolved is a service's effective routes and options.
type Resolved struct {
	// Routes are Spec.Routes, or, when it has none, the routes of the
	// VIRTUAL_HOST and TCP_PORTS variables; then a tcp route per ingress
	// port. Each has its Protocol and its container Port set; Port stays 0
	// for a service of the exec (or fake) driver, whose container listens
	// on the one port it is handed ($PORT).
	Routes []api.Route
	// Options are Spec.RouteOptions, each option it leaves unset taken
	// from the variables (BALANCE, COOKIE, FORCE_SSL, HTTP_CHECK,
	// VIRTUAL_HOST_WEIGHT) when the service has routes.
	Options api.RouteOptions
	// EnvCertificate is SSL_CERT's PEM when Options names no
	// certificate: the https routes' certificate, which Table names
	// "env:<service ID>".
	EnvCertificate string
}

// EnvCertName is the name Table gives the certificate that the SSL_CERT
// variable of the service id holds.
func EnvCertName(id string) string { return "env:" + id }

// singlePort says the service's driver hands each container one port in
// $PORT and publishes no others (exec, fake).
func singlePort(spec *api.ServiceSpec) bool { return spec.DriverName() != "docker" }

// Resolve is the service's effective routes and options (see Resolved).
// Explicit spec fields win over the variables: Spec.Routes over
// VIRTUAL_HOST and TCP_PORTS, each of Spec.RouteOptions over its
// variable. A route without a port goes to the service's only tcp
// container port among Ports (host mode) and Expose, less EXCLUDE_PORTS
// (and, for http and https routes, less the ports tcp routes take, when
// that leaves any: dockercloud/haproxy's TCP_PORTS rule). The
// errors are errdefs.Invalid, naming the field at fault.
func Resolve(spec api.ServiceSpec) (Resolved, error) {
	res := Resolved{Options: spec.RouteOptions}
	if err := checkOptions("spec.route_options", res.Options); err != nil {
		return Resolved{}, err
	}
	single := singlePort(&spec)
	var fields []string // where each route came from, for errors
	add := func(field string, r api.Route) {
		res.Routes = append(res.Routes, r)
		fields = append(fields, field)
	}
	if len(spec.Routes) > 0 {
		for i, r := range spec.Routes {
			field := "spec.routes[" + strconv.Itoa(i) + "]"
			r.Protocol = cmp.Or(r.Protocol, api.RouteHTTP)
			if r.Path == "/" {
				r.Path = ""
			}
			if err := checkRoute(r); err != nil {
				return Resolved{}, invalid(field, "%v; %s", err, routeExamples)
			}
			if single && r.Port != 0 {
				return Resolved{}, invalid(field, "route %s names container port %d, but the %s driver hands each container one port, $PORT, and routes go there: drop :%d", FormatRoute(r), r.Port, spec.DriverName(), r.Port)
			}
			add(field, r)
		}
	} else {
		for _, v := range []struct {
			name  string
			parse func(string) ([]api.Route, error)
		}{{EnvVirtualHost, virtualHosts}, {EnvTCPPorts, tcpPorts}} {
			val, ok := spec.Env[v.name]
			if !ok {
				continue
			}
			routes, err := v.parse(val)
			if err != nil {
				return Resolved{}, invalid(envField(v.name), "%v", err)
			}
			for _, r := range routes {
				if single {
					r.Port = 0
				}
				add(envField(v.name), r)
			}
		}
	}
	for i, p := range spec.Ports {
		if p.Mode != api.PortModeIngress {
			continue
		}
		field := "spec.ports[" + strconv.Itoa(i) + "]"
		if p.Protocol == "udp" {
			return Resolved{}, invalid(field, "ingress port %d/udp: the routers balance TCP only; publish udp ports in host mode", p.ContainerPort)
		}
		if p.HostPort < 1 || p.HostPort > 65535 || p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return Resolved{}, invalid(field, "an ingress port needs its published port (the routers' port) and its container port, each from 1 to 65535, such as 8080:80")
		}
		add(field, api.Route{Protocol: api.RouteTCP, Listen: p.HostPort, Port: p.ContainerPort})
	}
	if len(res.Routes) == 0 {
		// The variables of options are read only for a service with
		// routes: BALANCE or COOKIE may well mean something else to a
		// service that is not routed.
		return res, nil
	}
	if err := envOptions(spec.Env, &res.Options, &res); err != nil {
		return Resolved{}, err
	}
	if single {
		return res, nil
	}
	exclude, err := portList(spec.Env[EnvExclude])
	if err != nil {
		return Resolved{}, invalid(envField(EnvExclude), "%v", err)
	}
	cands := candidatePorts(&spec, exclude)
	// tcp routes first: their ports are not the http routes' default.
	for pass := range 2 {
		var taken []int
		for _, r := range res.Routes {
			if r.Protocol == api.RouteTCP && r.Port != 0 {
				taken = append(taken, r.Port)
			}
		}
		for i := range res.Routes {
			r := &res.Routes[i]
			if r.Port != 0 || (r.Protocol == api.RouteTCP) != (pass == 0) {
				continue
			}
			c := cands
			if pass == 1 {
				c = slices.DeleteFunc(slices.Clone(cands), func(p int) bool { return slices.Contains(taken, p) })
				if len(c) == 0 {
					c = cands
				}
			}
			if len(c) != 1 {
				return Resolved{}, defaultPortErr(fields[i], *r, c)
			}
			r.Port = c[0]
		}
	}
	return res, nil
}

// candidatePorts are the service's tcp container ports, published in
// host mode or exposed, less exclude; sorted, once each.
func candidatePorts(spec *api.ServiceSpec, exclude []int) []int {
	var out []int
	for _, list := range [][]api.PortSpec{spec.Ports, spec.Expose} {
		for _, p := range list {
			if p.Mode == api.PortModeIngress || (p.Protocol != "" && p.Protocol != "tcp") || slices.Contains(exclude, p.ContainerPort) {
				continue
			}
			out = append(out, p.ContainerPort)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// defaultPortErr says that route r (at field) has no port and the
// service none, or several, to default to.
func defaultPortErr(field string, r api.Route, ports []int) error {
	r.Port = 8080
	example := FormatRoute(r)
	if len(ports) == 0 {
		return invalid(field, "route %s: which container port? the service publishes and exposes no tcp port (Wharf cannot read the image's EXPOSE): name it in the route, as --route %s (host/path:PORT), or expose it (--expose, compose expose)", FormatRoute(api.Route{Protocol: r.Protocol, Host: r.Host, Path: r.Path, Listen: r.Listen}), example)
	}
	return invalid(field, "route %s: which container port? the service has %s: name one in the route, as --route %s (host/path:PORT), or leave the others out with EXCLUDE_PORTS", FormatRoute(api.Route{Protocol: r.Protocol, Host: r.Host, Path: r.Path, Listen: r.Listen}), joinPorts(ports), example)
}

func joinPorts(ports []int) string {
	s := ""
	for i, p := range ports {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(p)
	}
	return s
}

// RoutedPorts are the container ports the service's routes go to that
// its Ports do not publish already (in host mode, tcp): the controller
// publishes them on a free host port of each container's node, so that
// the routers reach them. None for a service of the exec or fake driver
// (routes go to $PORT), in network mode host (container ports are the
// node's) or with routes that do not resolve (Validate refuses those).
func RoutedPorts(spec api.ServiceSpec) []int {
	if singlePort(&spec) || spec.NetworkMode == "host" {
		return nil
	}
	res, err := Resolve(spec)
	if err != nil {
		return nil
	}
	var out []int
	for _, r := range res.Routes {
		published := slices.ContainsFunc(spec.Ports, func(p api.PortSpec) bool {
			return p.ContainerPort == r.Port && p.Mode != api.PortModeIngress && (p.Protocol == "" || p.Protocol == "tcp")
		})
		if r.Port != 0 && !published {
			out = append(out, r.Port)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Validate checks the routes and route options of a service spec, from
// its fields and its Docker Cloud variables: that Resolve can resolve
// them, that no two routes of the service share a host and path (or a
// tcp listen port), and that a service in network mode none has none.
// The domain layer calls it on every service create and update; its
// errors are errdefs.Invalid.
func Validate(spec api.ServiceSpec) error {
	res, err := Resolve(spec)
	if err != nil {
		return err
	}
	if len(res.Routes) > 0 && spec.NetworkMode == "none" {
		return invalid("spec.network_mode", "a service in network mode none cannot be reached, so it cannot have routes (%s): drop them, or the network mode", FormatRoute(res.Routes[0]))
	}
	seen := map[string]api.Route{}
	for _, r := range res.Routes {
		k := routeKey(r)
		if prev, dup := seen[k]; dup {
			if r.Protocol == api.RouteTCP {
				return invalid("spec.routes", "routes %s and %s both take the routers' port %d: a port goes to one container port", FormatRoute(prev), FormatRoute(r), r.Listen)
			}
			return invalid("spec.routes", "routes %s and %s have the same host and path: a host and path goes to one container port", FormatRoute(prev), FormatRoute(r))
		}
		seen[k] = r
	}
	return nil
}

// routeKey is what two routes may not share: protocol, host and path
// (http, https), or the listen port (tcp).
func routeKey(r api.Route) string {
	if r.Protocol == api.RouteTCP {
		return fmt.Sprintf("tcp %d", r.Listen)
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	return r.Protocol + " " + r.Host + " " + path
}

// DrainMS is how long, in milliseconds, a container of the service keeps
// running after it stops being routed (ContainerSpec.RouteDrainMS):
// RouteOptions.Drain, or api.DefaultRouteDrainMS, when the service has
// routes; 0 when it has none (or they do not resolve).
func DrainMS(spec api.ServiceSpec) int {
	res, err := Resolve(spec)
	if err != nil || len(res.Routes) == 0 {
		return 0
	}
	return cmp.Or(res.Options.Drain, api.DefaultRouteDrainMS)
}
