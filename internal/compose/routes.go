package compose

// Routes in compose files: the labels wharf.route (route texts, comma
// separated) and wharf.route.<option>, and x-wharf's routes and
// route_options. Docker Cloud's variables (VIRTUAL_HOST, TCP_PORTS...)
// stay in the environment, where the server reads them (package routing).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/routing"
)

const (
	routeLabel       = "wharf.route"
	routeLabelPrefix = "wharf.route."
)

// routeOptionKeys are the options, by their name in labels and x-wharf.
var routeOptionKeys = []string{"balance", "cookie", "force_ssl", "http_check", "proxy_protocol", "certificate", "weight", "drain"}

// setRouteOption sets option key of o to v (a string from a label, or a
// YAML value from x-wharf); a bad value is an error message.
func setRouteOption(o *api.RouteOptions, key string, v any) string {
	s, isString := v.(string)
	if !isString {
		s = fmt.Sprint(v)
	}
	s = strings.TrimSpace(s)
	switch key {
	case "balance":
		o.Balance = strings.ToLower(s)
	case "cookie":
		o.Cookie = s
	case "http_check":
		o.HTTPCheck = s
	case "proxy_protocol":
		o.ProxyProtocol = strings.ToLower(s)
	case "certificate":
		o.Certificate = s
	case "force_ssl":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return "must be true or false, not " + strconv.Quote(s)
		}
		o.ForceSSL = b
	case "weight":
		n, ok := toInt(v)
		if isString {
			var err error
			n, err = strconv.Atoi(s)
			ok = err == nil
		}
		if !ok {
			return "must be a whole number, not " + strconv.Quote(s)
		}
		o.Weight = n
	case "drain":
		d, err := time.ParseDuration(s)
		if n, ok := toInt(v); ok && !isString {
			d, err = time.Duration(n)*time.Second, nil // a bare number is seconds
		}
		if err != nil || d < 0 {
			return "must be a duration such as 5s, not " + strconv.Quote(s)
		}
		o.Drain = int(d.Milliseconds())
	default:
		return "unknown route option: want one of " + strings.Join(routeOptionKeys, ", ")
	}
	return ""
}

// routeLabels takes the route labels off the service's labels into its
// spec: they configure the routers, not the containers.
func (m *mapper) routeLabels(svc *Service) {
	spec := &svc.Spec
	path := "services." + svc.Name + ".labels"
	for _, k := range sortedKeys(spec.Labels) {
		v := spec.Labels[k]
		switch {
		case k == routeLabel:
			routes, err := parseRouteList(v)
			if err != nil {
				m.errorf(path+"."+k, "%v", err)
			}
			spec.Routes = routes
		case strings.HasPrefix(k, routeLabelPrefix):
			if msg := setRouteOption(&spec.RouteOptions, strings.TrimPrefix(k, routeLabelPrefix), v); msg != "" {
				m.errorf(path+"."+k, "%s", msg)
			}
		default:
			continue
		}
		delete(spec.Labels, k)
	}
	if len(spec.Labels) == 0 {
		spec.Labels = nil
	}
}

// parseRouteList reads comma-separated route texts.
func parseRouteList(s string) ([]api.Route, error) {
	var out []api.Route
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		r, err := routing.ParseRoute(part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// xWharfRoutes reads x-wharf's routes: a list of route texts.
func (m *mapper) xWharfRoutes(svc *Service, path string, v any) {
	texts, ok := toStrings(v)
	if !ok {
		m.errorf(path, "must be a list of routes, such as [app.example.com/api:8080, tcp://5432]")
		return
	}
	if len(svc.Spec.Routes) > 0 {
		m.w.at(path, "replaces the routes of label "+routeLabel)
	}
	svc.Spec.Routes = nil
	for i, t := range texts {
		r, err := routing.ParseRoute(t)
		if err != nil {
			m.errorf(path+"["+strconv.Itoa(i)+"]", "%v", err)
			continue
		}
		svc.Spec.Routes = append(svc.Spec.Routes, r)
	}
}

// xWharfRouteOptions reads x-wharf's route_options: a mapping of options.
func (m *mapper) xWharfRouteOptions(svc *Service, path string, v any) {
	opts, ok := v.(map[string]any)
	if !ok {
		m.errorf(path, "must be a mapping of route options (%s)", strings.Join(routeOptionKeys, ", "))
		return
	}
	for _, k := range sortedKeys(opts) {
		if msg := setRouteOption(&svc.Spec.RouteOptions, k, opts[k]); msg != "" {
			m.errorf(path+"."+k, "%s", msg)
		}
	}
}

// proxyImages are Docker Cloud's load balancers, which Wharf's router
// replaces.
var proxyImages = []string{"dockercloud/haproxy", "tutum/haproxy"}

// isProxyImage reports whether image is one of proxyImages, at any tag or
// digest, on Docker Hub.
func isProxyImage(image string) bool {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	repo = strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/"), "index.docker.io/")
	return slices.Contains(proxyImages, strings.ToLower(repo))
}

// replaceProxies leaves out of st the services that run Docker Cloud's
// load balancer (dockercloud/haproxy, tutum/haproxy), with a warning:
// Wharf's router does its work. Each service one links to that has
// neither VIRTUAL_HOST nor TCP_PORTS nor routes of its own gets the route
// "*" (and "https://*" with SSL_CERT), which is what the balancer served
// it on; the balancer's BALANCE becomes theirs when they set none. Links
// and dependencies on a balancer are dropped.
func (m *mapper) replaceProxies(st *Stack, links map[string][]string) {
	proxies := map[string]*Service{}
	for i := range st.Services {
		if s := &st.Services[i]; isProxyImage(s.Spec.Image) {
			proxies[s.Name] = s
		}
	}
	if len(proxies) == 0 {
		return
	}
	for _, name := range sortedKeys(proxies) {
		p := proxies[name]
		m.w.at("services."+name, fmt.Sprintf("%s is not deployed: Wharf's router replaces it; label the nodes that take the traffic (wharf node label NODE %s=true) and point DNS at them; the services it links get their routes from VIRTUAL_HOST and TCP_PORTS, else *; see wharf router ls", p.Spec.Image, api.RouterLabel))
		for _, target := range links[name] {
			i := slices.IndexFunc(st.Services, func(s Service) bool { return s.Name == target })
			if i < 0 || proxies[target] != nil {
				continue
			}
			spec := &st.Services[i].Spec
			if b := p.Spec.Env[routing.EnvBalance]; b != "" && spec.Env[routing.EnvBalance] == "" && spec.RouteOptions.Balance == "" {
				spec.RouteOptions.Balance = strings.ToLower(b)
			}
			_, vh := spec.Env[routing.EnvVirtualHost]
			_, tcp := spec.Env[routing.EnvTCPPorts]
			if vh || tcp || len(spec.Routes) > 0 {
				continue
			}
			spec.Routes = []api.Route{{Protocol: api.RouteHTTP, Host: "*"}}
			if spec.Env[routing.EnvSSLCert] != "" {
				spec.Routes = append(spec.Routes, api.Route{Protocol: api.RouteHTTPS, Host: "*"})
			}
		}
	}
	kept := st.Services[:0]
	for _, s := range st.Services {
		if proxies[s.Name] != nil {
			continue
		}
		s.Spec.Links = slices.DeleteFunc(s.Spec.Links, func(l string) bool { t, _, _ := strings.Cut(l, ":"); return proxies[t] != nil })
		s.Spec.DependsOn = slices.DeleteFunc(s.Spec.DependsOn, func(d api.Dependency) bool { return proxies[d.Service] != nil })
		if len(s.Spec.Links) == 0 {
			s.Spec.Links = nil
		}
		if len(s.Spec.DependsOn) == 0 {
			s.Spec.DependsOn = nil
		}
		kept = append(kept, s)
	}
	st.Services = kept
}

// checkRoutes checks each service's routes as the server will
// (routing.Validate), so that a route without a container port to go to
// is reported at its service, before anything is deployed.
func (m *mapper) checkRoutes(st *Stack) {
	for _, s := range st.Services {
		spec := s.Spec
		if s.Build != nil && spec.Image == "" && spec.Driver == "" {
			// `stack deploy` builds the image first: the docker driver
			// runs it.
			spec.Image = "build"
		}
		if err := routing.Validate(spec); err != nil {
			m.errorf("services."+s.Name, "%v", err)
		}
	}
}
