package compose

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wharfhq/wharf/api"
)

// mapper turns compose-go's services into Wharf's, collecting warnings and
// errors placed in the files.
type mapper struct {
	w   *warner
	wd  string            // the working dir, to show bind sources relative to it
	env map[string]string // the variables of interpolation, for build args
	// untrusted: the file came from a remote user (LoadUntrusted); bind
	// sources must be absolute (a relative one would name the server's
	// working dir).
	untrusted bool
	errs      []error
}

// references checks what compose-go's consistency check would have: every
// service a service depends on or links to, and every network and named
// volume it uses, exists.
func (m *mapper) references(p *types.Project) {
	for _, name := range sortedKeys(p.Services) {
		s, path := p.Services[name], "services."+name
		linked := map[string]bool{}
		for _, l := range s.Links {
			target, _, _ := strings.Cut(l, ":")
			linked[target] = true
			if _, ok := p.Services[target]; !ok {
				m.errorf(path+".links", "links to undefined service %q", target)
			}
		}
		for _, dep := range sortedKeys(s.DependsOn) {
			// compose-go adds a dependency for each link: reported above.
			if _, ok := p.Services[dep]; !ok && s.DependsOn[dep].Required && !linked[dep] {
				m.errorf(path+".depends_on", "depends on undefined service %q", dep)
			}
		}
		for _, n := range sortedKeys(s.Networks) {
			if _, ok := p.Networks[n]; !ok {
				m.errorf(path+".networks", "uses undefined network %q", n)
			}
		}
		for _, v := range s.Volumes {
			if _, ok := p.Volumes[v.Source]; v.Type == types.VolumeTypeVolume && v.Source != "" && !ok {
				m.errorf(path+".volumes", "uses undefined volume %q", v.Source)
			}
		}
	}
}

func (m *mapper) errorf(path, format string, args ...any) {
	l := m.w.ix.at(path)
	msg := path + ": " + fmt.Sprintf(format, args...)
	switch {
	case l.line > 0:
		msg = fmt.Sprintf("%s:%d: %s", l.file, l.line, msg)
	case l.file != "":
		msg = l.file + ": " + msg
	}
	m.errs = append(m.errs, errors.New(msg))
}

func (m *mapper) service(sc types.ServiceConfig) Service {
	p := "services." + sc.Name
	svc := Service{Name: sc.Name}
	spec := &svc.Spec
	spec.Image = sc.Image
	spec.PullPolicy = m.pullPolicy(p+".pull_policy", sc.PullPolicy)
	spec.Command = []string(sc.Command)
	spec.Entrypoint = []string(sc.Entrypoint)
	spec.Replicas = sc.GetScale()
	spec.Running = true
	if len(sc.Labels) > 0 {
		spec.Labels = map[string]string(sc.Labels)
	}
	m.routeLabels(&svc)
	for _, k := range sortedKeys(sc.Environment) {
		v := sc.Environment[k]
		if v == nil && strings.HasPrefix(strings.ToLower(k), "reschedule:") {
			v = new(string) // Swarm classic's rule, read by the server
		}
		if v == nil {
			m.w.at(p+".environment", "variable "+k+" has no value; dropped")
			continue
		}
		if spec.Env == nil {
			spec.Env = map[string]string{}
		}
		spec.Env[k] = *v
	}
	m.ports(&svc, sc.Ports)
	m.expose(&svc, sc.Expose)
	spec.NetworkMode = m.networkMode(p+".network_mode", sc.NetworkMode)
	spec.Healthcheck = m.healthcheck(p+".healthcheck", sc.HealthCheck)
	spec.Autorestart = m.restart(p+".restart", sc.Restart)
	spec.Links = sc.Links
	spec.DependsOn = dependsOn(sc.DependsOn)
	m.volumes(&svc, sc.Volumes)
	spec.Networks = sortedKeys(sc.Networks)
	if len(spec.Networks) == 0 {
		spec.Networks = nil
	}
	m.deploy(&svc, sc.Deploy)
	m.applyXWharf(&svc, sc.Extensions[xWharf])
	m.finishHealthcheck(&svc)
	m.build(&svc, sc)
	if sc.Build != nil && spec.Driver != "" && spec.Driver != "docker" {
		m.errorf(p+".build", "builds an image, which only the docker driver runs, not x-wharf driver %s", spec.Driver)
	}
	if spec.Image == "" && sc.Build == nil && !(spec.Driver != "" && spec.Driver != "docker" && len(spec.Command) > 0) {
		m.errorf(p, "needs an image, a build, or x-wharf driver exec (or fake) with a command")
	}
	return svc
}

// pullPolicy maps Compose's pull_policy onto Wharf's (api.PullPolicies):
// if_not_present is missing; a refresh schedule (daily, weekly, every_N)
// is not kept: the image is pinned at each deploy, so it is missing with
// a warning; build is for services `wharf stack deploy` builds.
func (m *mapper) pullPolicy(path, raw string) string {
	v := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case v == "":
		return ""
	case v == "if_not_present":
		return api.PullMissing
	case slices.Contains(api.PullPolicies, v):
		return v
	case v == "refresh" || v == "daily" || v == "weekly" || strings.HasPrefix(v, "every_"):
		m.w.at(path, "pull_policy "+raw+" (a refresh schedule) is not supported: the tag is resolved to a digest at each deploy; `wharf stack redeploy` resolves it again; using missing")
		return api.PullMissing
	}
	m.errorf(path, "unknown pull_policy %q: want one of %s (or if_not_present)", raw, strings.Join(api.PullPolicies, ", "))
	return ""
}

// restart maps Compose's restart to Wharf's autorestart.
func (m *mapper) restart(path, raw string) string {
	r := api.FoldEnum(raw)
	switch {
	case r == "":
		return ""
	case r == "no":
		return api.PolicyOff
	case r == "always", r == "unless-stopped":
		return api.PolicyAlways
	case r == "on-failure":
		return api.PolicyOnFailure
	case strings.HasPrefix(r, "on-failure:"):
		m.w.at(path, "maximum retry count is not supported by Wharf; restarts without a limit")
		return api.PolicyOnFailure
	}
	m.errorf(path, "unknown restart policy %q: want no, always, unless-stopped or on-failure", raw)
	return ""
}

// ports maps compose's ports. compose-go gives every port mode ingress
// unless the file says otherwise (the spec's default), but a
// docker-compose user's "8080:80" publishes on the container's host: so a
// port is an ingress port only when the file writes `mode: ingress` in the
// long syntax; the short syntax and the long one without a mode publish
// on the node (host mode).
func (m *mapper) ports(svc *Service, ports []types.ServicePortConfig) {
	p := "services." + svc.Name + ".ports"
	ingress := m.explicitIngress(p)
	for _, pc := range ports {
		proto := pc.Protocol
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			m.w.in(p, proto, "protocol "+proto+" is not supported by Wharf; port ignored")
			continue
		}
		ps := api.PortSpec{ContainerPort: int(pc.Target), Protocol: proto, HostIP: strings.Trim(pc.HostIP, "[]")}
		if pc.Published != "" {
			n, err := strconv.Atoi(pc.Published)
			if err != nil || n < 0 || n > 65535 {
				m.w.in(p, pc.Published, "published range "+pc.Published+" for one container port is not supported by Wharf; a free port is picked")
			} else {
				ps.HostPort = n
			}
		}
		switch mode := strings.ToLower(pc.Mode); {
		case mode == api.PortModeIngress && ingress[portKey(pc.Target, pc.Published)]:
			ps.Mode = api.PortModeIngress
		case mode == api.PortModeIngress, mode == api.PortModeHost, mode == "":
			// on the node, as docker-compose publishes it
		default:
			m.errorf(p, "port %d: unknown mode %q: want host or ingress", pc.Target, pc.Mode)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, ps)
	}
}

// portKey names a port by target and published port.
func portKey(target uint32, published string) string {
	return strconv.FormatUint(uint64(target), 10) + ":" + published
}

// explicitIngress are the ports (portKey) of the list at path that the
// files write in the long syntax with `mode: ingress`.
func (m *mapper) explicitIngress(path string) map[string]bool {
	out := map[string]bool{}
	for k, l := range m.w.ix {
		entry, ok := strings.CutSuffix(k, ".mode")
		if !ok || !strings.HasPrefix(entry, path+".") || strings.Contains(entry[len(path)+1:], ".") || strings.ToLower(l.value) != api.PortModeIngress {
			continue
		}
		out[portKey(parseUint32(m.w.ix[entry+".target"].value), m.w.ix[entry+".published"].value)] = true
	}
	return out
}

// parseUint32 is s as a number, 0 if it is none.
func parseUint32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// expose maps compose's expose (PORT, PORT/udp, PORT1-PORT2): ports the
// container listens on without publishing them, which -P (x-wharf
// publish_all) publishes.
func (m *mapper) expose(svc *Service, expose types.StringOrNumberList) {
	p := "services." + svc.Name + ".expose"
	for _, e := range expose {
		ps, err := api.ParseExpose(e)
		if err != nil {
			m.errorf(p, "%v", err)
			continue
		}
		svc.Spec.Expose = append(svc.Spec.Expose, ps...)
	}
}

// networkMode maps compose's network_mode: bridge, host and none are
// Docker's; sharing another service's or container's network is refused.
func (m *mapper) networkMode(path, raw string) string {
	mode := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case mode == "" || mode == "bridge" || mode == "host" || mode == "none":
		return mode
	case strings.HasPrefix(mode, "service:") || strings.HasPrefix(mode, "container:"):
		m.errorf(path, "network_mode %q shares another container's network, which Wharf does not support: "+
			"run both processes in one service, or put both services on one network and reach the other by its name", raw)
	default:
		m.errorf(path, "unknown network_mode %q: want bridge (the default), host or none", raw)
	}
	return ""
}
