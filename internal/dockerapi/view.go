package dockerapi

// How Wharf's containers look through the Docker API: a snapshot of the
// actor's services, containers and nodes, each container an entry with
// its Docker ID and name, and the shapes of docker ps and docker inspect
// made from an entry.

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// entry is one container as the Docker API shows it.
type entry struct {
	// id is the Docker ID: a standalone container's service's ID (which
	// its Wharf container takes too), else the Wharf container's ID.
	id string
	// name is the Docker name: a standalone container's service's name,
	// else the Wharf container's ("web-3").
	name string
	svc  *api.Service
	// c is nil for a standalone service whose container the controller
	// has yet to make.
	c    *api.Container
	node *api.Node
	// project and service are the stack and its service's short name,
	// for a stack's container.
	project, service string
}

// snapshot is what one call reads of the actor's containers.
type snapshot struct {
	entries []*entry
	nodes   map[string]*api.Node
}

// load reads the actor's services, containers, nodes and stacks. Nodes
// are left out when the actor may not read them (names show node IDs).
func (s *Server) load(ctx context.Context, a domain.Actor) (*snapshot, error) {
	var svcs []api.Service
	for p := (domain.Page{Limit: domain.MaxLimit}); ; {
		l, err := s.d.ListServices(ctx, a, "", p)
		if err != nil {
			return nil, err
		}
		svcs = append(svcs, l.Items...)
		if p.After = l.Next; l.Next == "" {
			break
		}
	}
	byService := map[string][]*api.Container{}
	for p := (domain.Page{Limit: domain.MaxLimit}); ; {
		l, err := s.d.ListContainers(ctx, a, "", "", p)
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			c := &l.Items[i]
			byService[c.Spec.Service] = append(byService[c.Spec.Service], c)
		}
		if p.After = l.Next; l.Next == "" {
			break
		}
	}
	snap := &snapshot{nodes: map[string]*api.Node{}}
	for p := (domain.Page{Limit: domain.MaxLimit}); ; {
		l, err := s.d.ListNodes(ctx, a, p)
		if errors.Is(err, errdefs.ErrForbidden) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, raw := range l.Items {
			var n api.Node
			if json.Unmarshal(raw.Value, &n) == nil {
				snap.nodes[n.ID] = &n
			}
		}
		if p.After = l.Next; l.Next == "" {
			break
		}
	}
	stacks := map[string]string{}
	for i := range svcs {
		svc := &svcs[i]
		e := entry{svc: svc}
		if svc.Stack != "" {
			name, ok := stacks[svc.Stack]
			if !ok {
				if st, err := s.d.GetStack(ctx, a, svc.Stack); err == nil {
					name = st.Name
				}
				stacks[svc.Stack] = name
			}
			e.project, e.service = name, strings.TrimPrefix(svc.Name, name+"-")
		}
		conts := byService[svc.ID]
		if svc.Spec.Standalone {
			var best *api.Container
			for _, c := range conts {
				if best == nil || betterEntry(c, best) {
					best = c
				}
			}
			if best == nil && svc.Terminating {
				continue
			}
			se := e
			se.id, se.name, se.c = svc.ID, svc.Name, best
			snap.add(&se)
			continue
		}
		for _, c := range conts {
			if c.Spec.Desired == api.ContainerTerminated {
				continue
			}
			ce := e
			ce.id, ce.name, ce.c = c.ID, c.Name, c
			snap.add(&ce)
		}
	}
	slices.SortFunc(snap.entries, func(x, y *entry) int { return -x.created().Compare(y.created()) })
	return snap, nil
}

func (snap *snapshot) add(e *entry) {
	if e.c != nil {
		e.node = snap.nodes[e.c.Spec.Node]
		if e.node == nil && e.c.Spec.Node != "" {
			e.node = &api.Node{Meta: api.Meta{ID: e.c.Spec.Node, Name: e.c.Spec.Node}}
		}
	}
	snap.entries = append(snap.entries, e)
}

// betterEntry picks the container a standalone service shows: one not
// being removed, then the newer.
func betterEntry(a, b *api.Container) bool {
	aLive, bLive := a.Spec.Desired != api.ContainerTerminated, b.Spec.Desired != api.ContainerTerminated
	if aLive != bLive {
		return aLive
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// find resolves a Docker reference: an ID, a name, "node/name" as docker
// ps shows it, a standalone container's Wharf container ID, then a unique
// prefix of an ID. Docker's messages: "No such container", and a prefix
// that several IDs share.
func (snap *snapshot) find(ref string) (*entry, error) {
	ref = strings.TrimPrefix(ref, "/")
	for _, e := range snap.entries {
		if e.id == ref || e.name == ref || e.name == wharfNetworkName(ref) || (e.node != nil && e.node.Name+"/"+e.name == ref) || (e.c != nil && e.c.ID == ref) {
			return e, nil
		}
	}
	var found *entry
	if ref != "" {
		for _, e := range snap.entries {
			if strings.HasPrefix(e.id, ref) {
				if found != nil {
					return nil, errdefs.New(errdefs.ErrInvalid, "multiple IDs found with provided prefix: "+ref)
				}
				found = e
			}
		}
	}
	if found == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "No such container: "+ref)
	}
	return found, nil
}

// created is when the container was made (its service's time before).
func (e *entry) created() time.Time {
	if e.c != nil {
		return e.c.CreatedAt
	}
	return e.svc.CreatedAt
}

// dockerName is the name as Swarm showed it: "/node/name".
func (e *entry) dockerName() string {
	if e.node != nil {
		return "/" + e.node.Name + "/" + e.name
	}
	return "/" + e.name
}

// state is the Docker state and its docker ps status line.
func (e *entry) state(now time.Time) (container.ContainerState, string) {
	if e.c == nil {
		if e.svc.Terminating {
			return container.StateRemoving, "Removal In Progress"
		}
		return container.StateCreated, "Created"
	}
	st := e.c.Status
	switch {
	case e.c.Spec.Desired == api.ContainerTerminated || st.State == api.ContainerTerminating || st.State == api.ContainerTerminated:
		return container.StateRemoving, "Removal In Progress"
	case st.State == api.ContainerRunning || st.State == api.ContainerStopping:
		line := "Up " + humanDuration(now.Sub(st.StartedAt))
		if st.Health != "" {
			line += " (" + st.Health + ")"
		}
		return container.StateRunning, line
	case st.State == api.ContainerStopped && (st.ExitCode != nil || !st.FinishedAt.IsZero()):
		code := -1
		if st.ExitCode != nil {
			code = *st.ExitCode
		}
		return container.StateExited, "Exited (" + strconv.Itoa(code) + ") " + humanDuration(now.Sub(st.FinishedAt)) + " ago"
	case st.State == api.ContainerStopped && st.Reason != "":
		return container.StateExited, "Exited (-1): " + st.Reason
	case st.RestartCount > 0 && (st.State == api.ContainerStarting || st.State == api.ContainerPending):
		return container.StateRestarting, "Restarting"
	}
	return container.StateCreated, "Created"
}

// humanDuration renders d as docker ps does ("3 minutes", "About an hour").
func humanDuration(d time.Duration) string {
	s := int(d.Seconds())
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch h := int(d.Hours()); {
	case s < 1:
		return "Less than a second"
	case s < 60:
		return plural(s, "second")
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return plural(int(d.Minutes()), "minute")
	case h < 2:
		return "About an hour"
	case h < 48:
		return plural(h, "hour")
	case h < 24*14:
		return plural(h/24, "day")
	case h < 24*60:
		return plural(h/24/7, "week")
	case h < 24*365*2:
		return plural(h/24/30, "month")
	}
	return plural(int(d.Hours())/24/365, "year")
}

// spec is what the entry's container runs: its own spec, else (not made
// yet) its service's.
func (e *entry) spec() api.ContainerSpec {
	if e.c != nil {
		return e.c.Spec
	}
	sp := e.svc.Spec
	return api.ContainerSpec{Service: e.svc.ID, Slot: 1, Image: sp.Image, Command: sp.Command, Entrypoint: sp.Entrypoint,
		Env: sp.Env, Ports: sp.Ports, Resources: sp.Resources, NetworkMode: sp.NetworkMode, Expose: sp.Expose,
		PublishAll: sp.PublishAll, TTY: sp.TTY, Interactive: sp.Interactive, Autorestart: sp.Autorestart, Volumes: sp.Volumes, Labels: sp.Labels}
}

// image is the image as the user named it (not the pinned digest).
func (e *entry) image() string {
	if e.svc.Spec.Image != "" {
		return e.svc.Spec.Image
	}
	return e.spec().Image
}

// labels are the container's labels, with compose's project and service
// for a stack's container.
func (e *entry) labels() map[string]string {
	l := maps.Clone(e.spec().Labels)
	if l == nil {
		l = map[string]string{}
	}
	if e.project != "" {
		l["com.docker.compose.project"] = e.project
		l["com.docker.compose.service"] = e.service
	}
	return l
}

// command is the command line docker ps shows.
func (e *entry) command() string {
	sp := e.spec()
	return strings.Join(append(slices.Clone(sp.Entrypoint), sp.Command...), " ")
}

// portBindings are the published ports: as the agent bound them, else
// (not running) as asked.
func (e *entry) portBindings() []api.PortBinding {
	if e.c != nil && len(e.c.Status.Ports) > 0 {
		return e.c.Status.Ports
	}
	var out []api.PortBinding
	for _, p := range e.spec().Ports {
		if p.Mode == api.PortModeIngress {
			continue
		}
		out = append(out, api.PortBinding{ContainerPort: p.ContainerPort, HostPort: p.HostPort, Protocol: proto(p.Protocol), HostIP: p.HostIP})
	}
	return out
}

func proto(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

// hostAddr is a binding's host address ("" is every address: 0.0.0.0).
func hostAddr(ip string) netip.Addr {
	if a, err := netip.ParseAddr(ip); err == nil {
		return a
	}
	return netip.IPv4Unspecified()
}

// summary is the entry as docker ps lists it.
func (e *entry) summary(now time.Time) container.Summary {
	state, status := e.state(now)
	sum := container.Summary{
		ID: e.id, Names: []string{e.dockerName()}, Image: e.image(),
		Command: e.command(), Created: e.created().Unix(), Labels: e.labels(), State: state, Status: status,
		Ports: []container.PortSummary{},
	}
	running := state == container.StateRunning
	for _, b := range e.portBindings() {
		ps := container.PortSummary{PrivatePort: uint16(b.ContainerPort), Type: b.Protocol}
		if running && b.HostPort > 0 {
			ps.IP, ps.PublicPort = hostAddr(b.HostIP), uint16(b.HostPort)
		}
		sum.Ports = append(sum.Ports, ps)
	}
	sum.HostConfig.NetworkMode = e.networkMode()
	sum.NetworkSettings = &container.NetworkSettingsSummary{Networks: e.endpoints()}
	sum.Mounts = e.mounts()
	return sum
}

func (e *entry) networkMode() string {
	if m := e.spec().NetworkMode; m != "" {
		return m
	}
	return "bridge"
}

// endpoints are the container's networks with its addresses.
func (e *entry) endpoints() map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	sp := e.spec()
	if sp.NetworkMode == "host" || sp.NetworkMode == "none" {
		out[sp.NetworkMode] = &network.EndpointSettings{}
		return out
	}
	for _, n := range sp.Networks {
		ep := &network.EndpointSettings{NetworkID: n.Network, Aliases: n.Names}
		if ip, err := netip.ParseAddr(n.IP); err == nil {
			ep.IPAddress = ip
		}
		if gw, err := netip.ParseAddr(n.Gateway); err == nil {
			ep.Gateway = gw
		}
		if p, err := netip.ParsePrefix(n.Subnet); err == nil {
			ep.IPPrefixLen = p.Bits()
		}
		out[n.Name] = ep
	}
	if len(out) == 0 {
		out["bridge"] = &network.EndpointSettings{}
	}
	return out
}

// mounts are the container's volumes as Docker lists mounts.
func (e *entry) mounts() []container.MountPoint {
	out := []container.MountPoint{}
	for _, v := range e.spec().Volumes {
		mp := container.MountPoint{Type: mount.TypeVolume, Source: v.Source, Destination: v.Target, RW: !v.ReadOnly}
		if v.Type == api.VolumeBind {
			mp.Type = mount.TypeBind
		} else {
			mp.Name, mp.Driver = v.Source, "local"
		}
		out = append(out, mp)
	}
	return out
}

// inspectNode is the Node section Swarm classic added to docker inspect.
type inspectNode struct {
	ID     string
	IP     string
	Addr   string
	Name   string
	Cpus   int
	Memory int64
	Labels map[string]string
}

// inspectResponse is docker inspect's answer with Swarm's Node section.
type inspectResponse struct {
	container.InspectResponse
	Node *inspectNode `json:",omitempty"`
}

// inspect is the entry as docker inspect shows it.
func (e *entry) inspect(now time.Time) inspectResponse {
	sp := e.spec()
	state, _ := e.state(now)
	st := &container.State{Status: state, Running: state == container.StateRunning, Restarting: state == container.StateRestarting,
		StartedAt: zeroTime, FinishedAt: zeroTime}
	restarts := 0
	if e.c != nil {
		cs := e.c.Status
		st.Pid = cs.PID
		if cs.ExitCode != nil {
			st.ExitCode = *cs.ExitCode
		}
		if cs.State == api.ContainerStopped {
			st.Error = cs.Reason
		}
		if !cs.StartedAt.IsZero() {
			st.StartedAt = cs.StartedAt.UTC().Format(time.RFC3339Nano)
		}
		if !cs.FinishedAt.IsZero() {
			st.FinishedAt = cs.FinishedAt.UTC().Format(time.RFC3339Nano)
		}
		if cs.Health != "" {
			st.Health = &container.Health{Status: container.HealthStatus(cs.Health)}
		}
		restarts = cs.RestartCount
	}
	args := append(slices.Clone(sp.Entrypoint), sp.Command...)
	var path string
	if len(args) > 0 {
		path, args = args[0], args[1:]
	}
	env := make([]string, 0, len(sp.Env))
	for _, k := range slices.Sorted(maps.Keys(sp.Env)) {
		env = append(env, k+"="+sp.Env[k])
	}
	bindings := network.PortMap{}
	exposed := network.PortSet{}
	nsPorts := network.PortMap{}
	running := state == container.StateRunning
	for _, p := range sp.Ports {
		if p.Mode == api.PortModeIngress {
			continue
		}
		port, ok := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(proto(p.Protocol)))
		if !ok {
			continue
		}
		hp := ""
		if p.HostPort > 0 {
			hp = strconv.Itoa(p.HostPort)
		}
		var ip netip.Addr
		if p.HostIP != "" {
			ip, _ = netip.ParseAddr(p.HostIP)
		}
		bindings[port] = append(bindings[port], network.PortBinding{HostIP: ip, HostPort: hp})
		exposed[port] = struct{}{}
	}
	for _, p := range sp.Expose {
		if port, ok := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(proto(p.Protocol))); ok {
			exposed[port] = struct{}{}
			nsPorts[port] = nil
		}
	}
	if running {
		for _, b := range e.portBindings() {
			if port, ok := network.PortFrom(uint16(b.ContainerPort), network.IPProtocol(b.Protocol)); ok {
				nsPorts[port] = append(nsPorts[port], network.PortBinding{HostIP: hostAddr(b.HostIP), HostPort: strconv.Itoa(b.HostPort)})
			}
		}
	}
	var binds []string
	for _, v := range sp.Volumes {
		b := v.Source + ":" + v.Target
		if v.ReadOnly {
			b += ":ro"
		}
		binds = append(binds, b)
	}
	restart := container.RestartPolicy{Name: container.RestartPolicyDisabled}
	switch sp.Autorestart {
	case api.PolicyAlways:
		restart.Name = container.RestartPolicyAlways
	case api.PolicyOnFailure:
		restart.Name = container.RestartPolicyOnFailure
	}
	out := inspectResponse{InspectResponse: container.InspectResponse{
		ID: e.id, Created: e.created().UTC().Format(time.RFC3339Nano), Path: path, Args: args, State: st,
		Image: sp.Image, Name: "/" + e.name, RestartCount: restarts, Driver: "wharf", Platform: "linux",
		HostConfig: &container.HostConfig{
			Binds: binds, NetworkMode: container.NetworkMode(e.networkMode()), PortBindings: bindings, RestartPolicy: restart,
			PublishAllPorts: sp.PublishAll, AutoRemove: e.autoRemove(), Resources: container.Resources{Memory: sp.Resources.MemoryBytes, NanoCPUs: sp.Resources.NanoCPUs},
		},
		Config: &container.Config{
			Hostname: e.name, Env: env, Cmd: sp.Command, Entrypoint: sp.Entrypoint, Image: e.image(), Labels: e.labels(),
			ExposedPorts: exposed, Tty: sp.TTY, OpenStdin: sp.Interactive, StdinOnce: sp.Interactive,
			AttachStdin: sp.Interactive,
		},
		NetworkSettings: &container.NetworkSettings{Ports: nsPorts, Networks: e.endpoints()},
		Mounts:          e.mounts(),
	}}
	if n := e.node; n != nil {
		out.Node = &inspectNode{ID: n.ID, Name: n.Name, IP: n.Address, Addr: n.Address, Cpus: n.CPUs, Memory: n.MemoryBytes, Labels: n.Labels}
		if out.Node.Labels == nil {
			out.Node.Labels = map[string]string{}
		}
	}
	return out
}

// autoRemove tells whether the container was made with docker run --rm:
// a standalone service whose container is destroyed whenever it exits.
func (e *entry) autoRemove() bool {
	return e.svc.Spec.Standalone && e.svc.Spec.Autodestroy == api.PolicyAlways
}

// zeroTime is how Docker writes a time that never was.
const zeroTime = "0001-01-01T00:00:00Z"
