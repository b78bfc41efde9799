package dockerapi

// The translation of a container create request (docker run, docker
// create) into the spec of a standalone service: what maps onto Wharf,
// and a 400 naming every setting that does not, so that nothing a user
// asked for is dropped silently.

import (
	"crypto/rand"
	"encoding/json"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// createBody is a create request twice over: typed, and as raw fields
// to find the settings Wharf does not carry.
type createBody struct {
	req container.CreateRequest
	// config and host are the request's Config fields (at the top level)
	// and its HostConfig, as decoded JSON.
	config map[string]any
	host   map[string]any
}

// parseCreateBody decodes a create request's body.
func parseCreateBody(data []byte) (*createBody, error) {
	b := &createBody{}
	if err := json.Unmarshal(data, &b.req); err != nil {
		return nil, errdefs.Invalid("body", "not a container create request: %v", err)
	}
	var top map[string]any
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, errdefs.Invalid("body", "not a JSON object: %v", err)
	}
	b.host, _ = top["HostConfig"].(map[string]any)
	delete(top, "HostConfig")
	delete(top, "NetworkingConfig")
	b.config = top
	if b.req.Config == nil {
		b.req.Config = &container.Config{}
	}
	if b.req.HostConfig == nil {
		b.req.HostConfig = &container.HostConfig{}
	}
	return b, nil
}

// configServed are the Config fields create maps; configIgnored those it
// may leave aside (how the client attaches, Windows' and build-time
// settings that mean nothing to a detached Linux container).
var (
	configServed  = []string{"Image", "Cmd", "Entrypoint", "Env", "Labels", "ExposedPorts", "Tty", "OpenStdin"}
	configIgnored = []string{"AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce", "ArgsEscaped", "Shell", "OnBuild"}
)

// hostServed are the HostConfig fields create maps; hostIgnored those
// that only the client or Windows uses.
var (
	hostServed  = []string{"Binds", "NetworkMode", "PortBindings", "RestartPolicy", "PublishAllPorts", "Memory", "NanoCpus", "Mounts", "AutoRemove"}
	hostIgnored = []string{"ConsoleSize", "ContainerIDFile", "Isolation"}
)

// flagOf names the docker run flag behind a refused field.
var flagOf = map[string]string{
	"Hostname": "--hostname", "Domainname": "--domainname", "User": "--user", "WorkingDir": "--workdir",
	"Healthcheck": "--health-cmd", "Volumes": "-v <path> (an anonymous volume)",
	"StopSignal": "--stop-signal", "StopTimeout": "--stop-timeout", "NetworkDisabled": "--network none", "MacAddress": "--mac-address",
	"Privileged": "--privileged", "CapAdd": "--cap-add", "CapDrop": "--cap-drop",
	"Dns": "--dns", "DnsOptions": "--dns-option", "DnsSearch": "--dns-search", "ExtraHosts": "--add-host",
	"Links": "--link", "VolumesFrom": "--volumes-from", "LogConfig": "--log-driver/--log-opt", "CpuShares": "--cpu-shares",
	"PidMode": "--pid", "IpcMode": "--ipc", "UTSMode": "--uts", "ReadonlyRootfs": "--read-only", "Tmpfs": "--tmpfs",
	"ShmSize": "--shm-size", "Sysctls": "--sysctl", "Ulimits": "--ulimit", "Devices": "--device", "Init": "--init",
	"SecurityOpt": "--security-opt", "MemoryReservation": "--memory-reservation", "MemorySwap": "--memory-swap",
	"PidsLimit": "--pids-limit", "CpusetCpus": "--cpuset-cpus", "CpuQuota": "--cpu-quota", "CpuPeriod": "--cpu-period",
	"GroupAdd": "--group-add", "Runtime": "--runtime", "OomKillDisable": "--oom-kill-disable", "DeviceRequests": "--gpus",
}

// refuseUnserved returns a 400 listing every field of fields set to
// something other than its zero value that is neither served nor
// ignored; section names it ("Config", "HostConfig").
func refuseUnserved(section string, fields map[string]any, served, ignored []string) error {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if slices.Contains(served, k) || slices.Contains(ignored, k) || isZero(fields[k]) {
			continue
		}
		if f := flagOf[k]; f != "" {
			k += " (" + f + ")"
		}
		bad = append(bad, k)
	}
	if len(bad) == 0 {
		return nil
	}
	return errdefs.Invalid(section, "Wharf cannot run a container with %s: drop %s (docs/docker-api.md lists what docker run may set)",
		strings.Join(bad, ", "), map[bool]string{true: "it", false: "them"}[len(bad) == 1])
}

// isZero tells whether a decoded JSON value is empty: null, false, 0, "",
// or a list or object of empty values.
func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		for _, x := range v {
			if !isZero(x) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, x := range v {
			if !isZero(x) {
				return false
			}
		}
		return true
	}
	return false
}

// dockerNameRE is what Wharf takes as a container's name: a service name
// (docker allows more: capitals, '_' and '.').
var dockerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// checkName checks the name of docker run --name (a leading / dropped).
func checkName(name string) (string, error) {
	// '_' and '.' become '-' (docker-compose names containers
	// "<project>_<service>_<n>"), as network names do.
	name = wharfNetworkName(strings.TrimPrefix(name, "/"))
	if !dockerNameRE.MatchString(name) {
		return "", errdefs.Invalid("name", "container name %q is not one Wharf can take: it names the container's service, so it must be lower-case letters, digits and '-', starting with a letter or digit, at most 63 characters (%s)", name, dockerNameRE)
	}
	return name, nil
}

// Words of the names given to containers created without --name:
// "<adjective>-<noun>", as Docker gives "<adjective>_<name>" ('-' here,
// as service names have no '_').
var (
	nameAdjectives = []string{"amber", "bold", "brisk", "calm", "clever", "eager", "fair", "gentle", "happy", "keen",
		"lively", "lucid", "merry", "nimble", "proud", "quiet", "rapid", "sharp", "steady", "swift", "tidy", "vivid", "warm", "witty"}
	nameNouns = []string{"anchor", "beacon", "buoy", "cargo", "compass", "current", "delta", "ferry", "harbor", "hull",
		"jetty", "keel", "lagoon", "mast", "pier", "quay", "rudder", "sail", "schooner", "tide", "voyage", "wake", "wharf", "yacht"}
)

// randomName is a generated container name.
func randomName() string {
	pick := func(l []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(l))))
		return l[n.Int64()]
	}
	return pick(nameAdjectives) + "-" + pick(nameNouns)
}

// toSpec translates a create request into the spec of a standalone
// service, stopped (docker start starts it).
func (b *createBody) toSpec() (api.ServiceSpec, error) {
	cfg, hc := b.req.Config, b.req.HostConfig
	if err := refuseUnserved("Config", b.config, configServed, configIgnored); err != nil {
		return api.ServiceSpec{}, err
	}
	hostFields := map[string]any{}
	maps.Copy(hostFields, b.host)
	if v, ok := hostFields["MemorySwappiness"].(float64); ok && v == -1 {
		delete(hostFields, "MemorySwappiness") // the CLI's default: the kernel's
	}
	if err := refuseUnserved("HostConfig", hostFields, hostServed, hostIgnored); err != nil {
		return api.ServiceSpec{}, err
	}
	if anon := anonymousVolumes(cfg.Volumes, hc.Binds, hc.Mounts); len(anon) > 0 {
		return api.ServiceSpec{}, errdefs.Invalid("Volumes", "Wharf cannot make an anonymous volume (-v %s): name it (-v NAME:%s)", anon[0], anon[0])
	}
	if cfg.Image == "" {
		return api.ServiceSpec{}, errdefs.Invalid("Image", "a container needs an image: docker run [OPTIONS] IMAGE [COMMAND]")
	}
	spec := api.ServiceSpec{
		Image: cfg.Image, Command: cfg.Cmd, Entrypoint: cfg.Entrypoint,
		Replicas: 1, Standalone: true, Driver: "docker",
		// As the Docker daemon's create, which never pulls (the CLI pulls
		// first, through POST /images/create): the node runs the image
		// it has.
		PullPolicy: api.PullNever,
		Resources:  api.Resources{MemoryBytes: hc.Memory, NanoCPUs: hc.NanoCPUs},
		// Swarm classic reserved what -m and --cpus limit, for placement.
		Reservations: api.Resources{MemoryBytes: hc.Memory, NanoCPUs: hc.NanoCPUs},
		PublishAll:   hc.PublishAllPorts,
		// -t and -i: a terminal, and an input kept open for docker run's
		// (or docker start -ai's) attach.
		TTY: cfg.Tty, Interactive: cfg.OpenStdin,
	}
	var pl placement
	if len(cfg.Env) > 0 {
		spec.Env = map[string]string{}
	}
	for _, e := range cfg.Env {
		taken, err := pl.takeEnv(e)
		if err != nil {
			return api.ServiceSpec{}, err
		}
		if taken {
			continue
		}
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return api.ServiceSpec{}, errdefs.Invalid("Env", "%q has no '=': Wharf cannot unset an image's variable; give it a value (-e %s=...)", e, e)
		}
		spec.Env[k] = v
	}
	if len(spec.Env) == 0 {
		spec.Env = nil
	}
	if len(cfg.Labels) > 0 {
		spec.Labels = maps.Clone(cfg.Labels)
		if err := pl.takeLabels(spec.Labels); err != nil {
			return api.ServiceSpec{}, err
		}
		if len(spec.Labels) == 0 {
			spec.Labels = nil
		}
	}
	pl.apply(&spec)
	var err error
	if spec.Autorestart, err = restartPolicy(hc.RestartPolicy); err != nil {
		return api.ServiceSpec{}, err
	}
	if hc.AutoRemove {
		// --rm: the container is destroyed once it exits, and the
		// endpoint removes its service then (see removeWhenDestroyed).
		if spec.Autorestart != "" {
			return api.ServiceSpec{}, errdefs.Invalid("AutoRemove", "a container cannot be both removed when it exits (--rm) and restarted (--restart): drop one")
		}
		spec.Autodestroy = api.PolicyAlways
	}
	if err := b.networks(&spec); err != nil {
		return api.ServiceSpec{}, err
	}
	if spec.Ports, spec.Expose, err = ports(cfg.ExposedPorts, hc.PortBindings); err != nil {
		return api.ServiceSpec{}, err
	}
	if spec.Volumes, err = volumes(hc.Binds, hc.Mounts); err != nil {
		return api.ServiceSpec{}, err
	}
	return spec, nil
}

// restartPolicy maps --restart onto Autorestart. unless-stopped is
// always: a container Wharf stops (docker stop) stays stopped anyway.
func restartPolicy(p container.RestartPolicy) (string, error) {
	switch p.Name {
	case "", "no":
		return "", nil
	case "always", "unless-stopped":
		return api.PolicyAlways, nil
	case "on-failure":
		if p.MaximumRetryCount > 0 {
			return "", errdefs.Invalid("RestartPolicy", "Wharf restarts a failing container without a limit: use --restart on-failure without :%d", p.MaximumRetryCount)
		}
		return api.PolicyOnFailure, nil
	}
	return "", errdefs.Invalid("RestartPolicy", "unknown restart policy %q: want no, on-failure, always or unless-stopped", p.Name)
}

// networks maps --network: host and none are network modes, bridge and
// default Wharf's default network, any other name a Wharf network.
func (b *createBody) networks(spec *api.ServiceSpec) error {
	names := map[string]bool{}
	mode := string(b.req.HostConfig.NetworkMode)
	if mode != "" {
		names[mode] = true
	}
	if nc := b.req.NetworkingConfig; nc != nil {
		for n, ep := range nc.EndpointsConfig {
			names[n] = true
			if ep != nil && (len(unservedAliases(b.req.Labels, ep)) > 0 || !noAddresses(ep.IPAMConfig) || len(ep.Links) > 0) {
				return errdefs.Invalid("NetworkingConfig", "Wharf cannot set a container's aliases, links or addresses on network %s: drop --network-alias, --link and --ip", n)
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		switch {
		case n == "bridge" || n == "default":
		case n == "host" || n == "none":
			if len(names) > 1 {
				return errdefs.Invalid("NetworkMode", "network %s cannot be joined with others", n)
			}
			spec.NetworkMode = n
		case strings.HasPrefix(n, "container:") || strings.HasPrefix(n, "service:"):
			return errdefs.Invalid("NetworkMode", "Wharf cannot share another container's network (%s): put both in one network instead", n)
		default:
			spec.Networks = append(spec.Networks, wharfNetworkName(n))
		}
	}
	return nil
}

// ports maps -p, -P and --expose: every bound port is published (a host
// port range or a port bound twice is refused), the others exposed.
func ports(exposed network.PortSet, bound network.PortMap) (pub, expose []api.PortSpec, err error) {
	for _, p := range sortedPorts(bound) {
		for _, hb := range bound[p] {
			ps := api.PortSpec{ContainerPort: int(p.Num()), Protocol: string(p.Proto())}
			if ps.Protocol == "tcp" {
				ps.Protocol = ""
			}
			if hb.HostIP.IsValid() && !hb.HostIP.IsUnspecified() {
				ps.HostIP = hb.HostIP.String()
			}
			if hb.HostPort != "" {
				n, err := strconv.Atoi(hb.HostPort)
				if err != nil || n < 1 || n > 65535 {
					return nil, nil, errdefs.Invalid("PortBindings", "host port %q of %s: Wharf publishes on one host port (1-65535) or a free one; a range of host ports is not supported", hb.HostPort, p)
				}
				ps.HostPort = n
			}
			pub = append(pub, ps)
		}
	}
	for _, p := range sortedPorts(exposed) {
		if _, ok := bound[p]; ok {
			continue
		}
		ps := api.PortSpec{ContainerPort: int(p.Num()), Protocol: string(p.Proto())}
		if ps.Protocol == "tcp" {
			ps.Protocol = ""
		}
		expose = append(expose, ps)
	}
	return pub, expose, nil
}

// sortedPorts are the keys of m in order.
func sortedPorts[V any](m map[network.Port]V) []network.Port {
	out := slices.Collect(maps.Keys(m))
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// volumes maps -v and --mount: a bind of an absolute host path or a named
// volume; an anonymous volume, tmpfs and other mount types are refused.
func volumes(binds []string, mounts []mount.Mount) ([]api.VolumeMount, error) {
	var out []api.VolumeMount
	for _, b := range binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, errdefs.Invalid("Binds", "volume %q: want SOURCE:TARGET[:ro] (an anonymous volume is not supported: name it)", b)
		}
		v := api.VolumeMount{Type: api.VolumeNamed, Source: parts[0], Target: parts[1]}
		if strings.HasPrefix(v.Source, "/") {
			v.Type = api.VolumeBind
		}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					v.ReadOnly = true
				case "rw", "":
				default:
					return nil, errdefs.Invalid("Binds", "volume %q: option %q is not supported (only ro and rw)", b, o)
				}
			}
		}
		out = append(out, v)
	}
	for _, m := range mounts {
		switch m.Type {
		case mount.TypeVolume, mount.TypeBind:
		default:
			return nil, errdefs.Invalid("Mounts", "mount of type %q at %s is not supported: Wharf mounts named volumes and binds", m.Type, m.Target)
		}
		if m.Source == "" {
			return nil, errdefs.Invalid("Mounts", "mount at %s has no source: an anonymous volume is not supported: name it", m.Target)
		}
		if m.BindOptions != nil || m.VolumeOptions != nil || m.TmpfsOptions != nil || m.Consistency != "" {
			return nil, errdefs.Invalid("Mounts", "mount at %s: Wharf takes type, source, target and readonly only", m.Target)
		}
		typ := api.VolumeNamed
		if m.Type == mount.TypeBind {
			typ = api.VolumeBind
		}
		out = append(out, api.VolumeMount{Type: typ, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return out, nil
}

// createName picks the name of a new container: the one asked for, else
// a generated one.
func createName(asked string) (string, bool, error) {
	if asked != "" {
		n, err := checkName(asked)
		return n, false, err
	}
	return randomName(), true, nil
}
