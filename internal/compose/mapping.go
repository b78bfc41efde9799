package compose

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wharfhq/wharf/api"
)

// mapper turns compose-go's services into Wharf's, collecting warnings and
// errors placed in the files.
type mapper struct {
	w    *warner
	wd   string // the working dir, to show bind sources relative to it
	errs []error
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
	svc := Service{Name: sc.Name, Labels: map[string]string(sc.Labels)}
	if len(svc.Labels) == 0 {
		svc.Labels = nil
	}
	spec := &svc.Spec
	spec.Image = sc.Image
	spec.Command = []string(sc.Command)
	spec.Entrypoint = []string(sc.Entrypoint)
	spec.Replicas = sc.GetScale()
	spec.Running = true
	for _, k := range sortedKeys(sc.Environment) {
		v := sc.Environment[k]
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
	svc.Healthcheck = healthcheck(sc.HealthCheck)
	spec.Autorestart = m.restart(p+".restart", sc.Restart)
	svc.Links = sc.Links
	for _, name := range sortedKeys(sc.DependsOn) {
		svc.DependsOn = append(svc.DependsOn, Dependency{Service: name, Condition: sc.DependsOn[name].Condition})
	}
	m.volumes(&svc, sc.Volumes)
	svc.Networks = sortedKeys(sc.Networks)
	if len(svc.Networks) == 0 {
		svc.Networks = nil
	}
	m.deploy(&svc, sc.Deploy)
	m.applyXWharf(&svc, sc.Extensions[xWharf])
	if spec.Image == "" && !(spec.Driver != "" && spec.Driver != "docker" && len(spec.Command) > 0) {
		m.errorf(p, "needs an image, or x-wharf driver exec (or fake) with a command")
	}
	return svc
}

// restart maps Compose's restart to Wharf's autorestart.
func (m *mapper) restart(path, r string) string {
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
	m.errorf(path, "unknown restart policy %q", r)
	return ""
}

func (m *mapper) ports(svc *Service, ports []types.ServicePortConfig) {
	p := "services." + svc.Name + ".ports"
	for _, pc := range ports {
		proto := pc.Protocol
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			m.w.in(p, proto, "protocol "+proto+" is not supported by Wharf; port ignored")
			continue
		}
		ps := api.PortSpec{ContainerPort: int(pc.Target), Protocol: proto}
		if pc.Published != "" {
			n, err := strconv.Atoi(pc.Published)
			if err != nil || n < 0 || n > 65535 {
				m.w.in(p, pc.Published, "published range "+pc.Published+" is not supported by Wharf; a free port is picked")
			} else {
				ps.HostPort = n
			}
		}
		if pc.HostIP != "" {
			m.w.in(p, pc.HostIP, "host IP "+pc.HostIP+" is not supported by Wharf; published on every address")
		}
		svc.Spec.Ports = append(svc.Spec.Ports, ps)
	}
}

func (m *mapper) expose(svc *Service, expose types.StringOrNumberList) {
	p := "services." + svc.Name + ".expose"
	for _, e := range expose {
		port, proto, _ := strings.Cut(e, "/")
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			m.w.at(p, "port "+e+" is not a single port; ignored")
			continue
		}
		if proto != "" && proto != "tcp" {
			m.w.at(p, "port "+e+": protocol "+proto+" is not kept")
		}
		svc.Expose = append(svc.Expose, n)
	}
}

func healthcheck(hc *types.HealthCheckConfig) *Healthcheck {
	if hc == nil || hc.Disable {
		return nil
	}
	h := &Healthcheck{Test: []string(hc.Test)}
	dur := func(d *types.Duration) time.Duration {
		if d == nil {
			return 0
		}
		return time.Duration(*d)
	}
	h.Interval, h.Timeout, h.StartPeriod = dur(hc.Interval), dur(hc.Timeout), dur(hc.StartPeriod)
	if hc.Retries != nil && *hc.Retries < 1<<31 {
		h.Retries = int(*hc.Retries)
	}
	return h
}

func (m *mapper) volumes(svc *Service, vols []types.ServiceVolumeConfig) {
	p := "services." + svc.Name + ".volumes"
	for _, v := range vols {
		if v.Type != types.VolumeTypeVolume && v.Type != types.VolumeTypeBind {
			m.w.in(p, v.Target, "type "+v.Type+" is not supported by Wharf; ignored")
			continue
		}
		src := v.Source
		if v.Type == types.VolumeTypeBind && filepath.IsAbs(src) {
			if rel, err := filepath.Rel(m.wd, src); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				src = "./" + filepath.ToSlash(rel)
			}
		}
		svc.Volumes = append(svc.Volumes, Volume{Type: v.Type, Source: src, Target: v.Target, ReadOnly: v.ReadOnly})
	}
}
