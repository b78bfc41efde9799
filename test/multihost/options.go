package multihost

// Options are the settings of StartClusterWith beyond the number of agents.
type Options struct {
	// Agents is how many agent containers to start.
	Agents int
	// ServerDocker are extra `docker run` flags for the server container,
	// before the image (for example "--tmpfs", "/data:size=256m").
	ServerDocker []string
	// ServerArgs returns extra `wharf server` flags, after the defaults, so
	// that they override them (for example "--advertise"). It runs once the
	// network exists and before the server starts; nil adds none.
	ServerArgs func(c *Cluster) []string
	// BeforeAgents runs once the server answers and before any agent
	// starts, for example to put a proxy in front of the gateway.
	BeforeAgents func(c *Cluster)
	// AgentDocker are extra `docker run` flags for every agent container
	// (for example "--cap-add", "NET_ADMIN"); AgentArgs extra `wharf
	// agent` flags (for example "--overlay").
	AgentDocker []string
	AgentArgs   []string
}

// Overlay is the agents' settings for the overlay network: the
// capabilities it needs (NET_ADMIN for VXLAN devices, bridges and veths,
// SYS_ADMIN for the exec driver's network and mount namespaces,
// SYS_PTRACE to enter those of a workload run as another user, for exec,
// and the TUN device for the relay) and --overlay. An agent run as root on a host has them all.
func Overlay(o Options) Options {
	o.AgentDocker = append(o.AgentDocker, "--cap-add", "NET_ADMIN", "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE", "--device", "/dev/net/tun")
	o.AgentArgs = append(o.AgentArgs, "--overlay")
	return o
}

func (o Options) serverDocker() []string { return o.ServerDocker }

func (o Options) serverArgs(c *Cluster) []string {
	if o.ServerArgs == nil {
		return nil
	}
	return o.ServerArgs(c)
}

func (o Options) beforeAgents(c *Cluster) {
	if o.BeforeAgents != nil {
		o.BeforeAgents(c)
	}
}
