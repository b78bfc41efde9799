package dockerapi

// info.go is GET /info: the whole cluster as one engine, its nodes listed
// in SystemStatus as Swarm classic listed them.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// infoRoutes serves /info (the nodes, their labels, containers and
// resources, as Swarm classic showed them) and /events (Wharf's event
// stream in Docker's event format; events.go).
func (s *Server) infoRoutes() {
	s.handle("GET /info", s.info)
	s.handle("GET /events", s.events)
}

// listNodes reads every node the actor may see; an actor who may not read
// nodes sees none (ok is false), and /info says so.
func (s *Server) listNodes(ctx context.Context, a domain.Actor) (nodes []api.Node, ok bool, err error) {
	p := domain.Page{Limit: domain.MaxLimit}
	for {
		page, err := s.d.ListNodes(ctx, a, p)
		if errors.Is(err, errdefs.ErrForbidden) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		for _, raw := range page.Items {
			var n api.Node
			if err := raw.Decode(&n); err != nil {
				return nil, false, err
			}
			nodes = append(nodes, n)
		}
		if page.Next == "" {
			return nodes, true, nil
		}
		p.After = page.Next
	}
}

// orgContainers reads every container of the actor's organization.
func (s *Server) orgContainers(ctx context.Context, a domain.Actor) ([]api.Container, error) {
	var out []api.Container
	p := domain.Page{Limit: domain.MaxLimit}
	for {
		page, err := s.d.ListContainers(ctx, a, "", "", p)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		p.After = page.Next
	}
}

// counts are a set of containers as /info counts them.
type counts struct {
	total, running, stopped int
	cpus, memory            int64 // reserved: nano-CPUs and bytes
}

func (c *counts) add(ct *api.Container) {
	c.total++
	if ct.Status.State == api.ContainerRunning {
		c.running++
	} else {
		c.stopped++
	}
	if ct.Spec.Desired != api.ContainerTerminated {
		c.cpus += ct.Spec.Resources.NanoCPUs
		c.memory += ct.Spec.Resources.MemoryBytes
	}
}

func (c counts) String() string {
	return fmt.Sprintf("%d (%d Running, 0 Paused, %d Stopped)", c.total, c.running, c.stopped)
}

// info is GET /info: the organization's containers and the nodes it sees,
// summed as one engine (NCPU, MemTotal), and each node in SystemStatus.
func (s *Server) info(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	ctx := r.Context()
	cts, err := s.orgContainers(ctx, a)
	if err != nil {
		return err
	}
	nodes, nodesSeen, err := s.listNodes(ctx, a)
	if err != nil {
		return err
	}
	var all counts
	perNode := map[string]*counts{}
	for i := range cts {
		all.add(&cts[i])
		if n := cts[i].Spec.Node; n != "" {
			if perNode[n] == nil {
				perNode[n] = &counts{}
			}
			perNode[n].add(&cts[i])
		}
	}
	host, _ := os.Hostname()
	info := system.Info{
		ID:                 "wharf",
		Containers:         all.total,
		ContainersRunning:  all.running,
		ContainersStopped:  all.stopped,
		Driver:             "wharf",
		DriverStatus:       [][2]string{},
		SystemStatus:       systemStatus(nodes, perNode),
		MemoryLimit:        true,
		SwapLimit:          true,
		CPUCfsPeriod:       true,
		CPUCfsQuota:        true,
		CPUShares:          true,
		CPUSet:             true,
		PidsLimit:          true,
		IPv4Forwarding:     true,
		OomKillDisable:     true,
		NGoroutines:        runtime.NumGoroutine(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		LoggingDriver:      "wharf",
		CgroupDriver:       "none",
		OperatingSystem:    "Wharf",
		OSType:             "linux",
		Architecture:       runtime.GOARCH,
		IndexServerAddress: "https://index.docker.io/v1/",
		DockerRootDir:      "/var/lib/wharf",
		Name:               host,
		ServerVersion:      s.version(),
		Labels:             []string{},
		SecurityOptions:    []string{},
		Warnings:           []string{},
	}
	info.Swarm.LocalNodeState = swarm.LocalNodeStateInactive
	info.Plugins.Volume = []string{"local"}
	info.Plugins.Network = []string{"bridge", "host", "null"}
	info.Plugins.Log = []string{"wharf"}
	for i := range nodes {
		if nodes[i].State == api.NodeTerminated {
			continue
		}
		info.NCPU += nodes[i].CPUs
		info.MemTotal += nodes[i].MemoryBytes
	}
	if !nodesSeen {
		info.Warnings = append(info.Warnings, "WARNING: this client certificate may not read nodes, so none are listed")
	}
	return writeJSON(w, http.StatusOK, infoResponse{Info: info, BridgeNfIptables: true, BridgeNfIP6tables: true})
}

// infoResponse adds to system.Info the fields older clients warn about
// when they are missing (docker 20.10: "bridge-nf-call-iptables is
// disabled"); the nodes' engines have them as they need them.
type infoResponse struct {
	system.Info
	BridgeNfIptables  bool `json:"BridgeNfIptables"`
	BridgeNfIP6tables bool `json:"BridgeNfIp6tables"`
}

// nodeStatus is a node's state as Swarm classic named it.
func nodeStatus(st api.NodeState) string {
	switch st {
	case api.NodeDeployed:
		return "Healthy"
	case api.NodeUnreachable:
		return "Unhealthy"
	case api.NodeDeploying:
		return "Pending"
	}
	return string(st)
}

// systemStatus is the lines `docker info` prints for the cluster: the
// role, the scheduler, and each node with its ID, status, containers,
// reserved resources, labels and version, as Swarm classic showed them.
func systemStatus(nodes []api.Node, perNode map[string]*counts) [][2]string {
	slices.SortFunc(nodes, func(a, b api.Node) int { return strings.Compare(a.Name, b.Name) })
	out := [][2]string{
		{"Role", "primary"},
		{"Strategy", "wharf"},
		{"Filters", "constraint, affinity, health, port, resources"},
		{"Nodes", strconv.Itoa(len(nodes))},
	}
	for i := range nodes {
		n := &nodes[i]
		c := perNode[n.ID]
		if c == nil {
			c = &counts{}
		}
		labels := make([]string, 0, len(n.Labels))
		for k, v := range n.Labels {
			labels = append(labels, k+"="+v)
		}
		slices.Sort(labels)
		if n.OS != "" {
			labels = append(labels, "operatingsystem="+n.OS)
		}
		if n.Kernel != "" {
			labels = append(labels, "kernelversion="+n.Kernel)
		}
		if len(n.Drivers) > 0 {
			labels = append(labels, "drivers="+strings.Join(n.Drivers, "+"))
		}
		version := n.AgentVersion
		if n.EngineVersion != "" {
			version += " (Docker Engine " + n.EngineVersion + ")"
		}
		out = append(out,
			[2]string{" " + n.Name, cmp.Or(n.Address, "-")},
			[2]string{"  └ ID", n.ID},
			[2]string{"  └ Status", nodeStatus(n.State)},
			[2]string{"  └ Containers", c.String()},
			[2]string{"  └ Reserved CPUs", fmt.Sprintf("%s / %d", infoCPUs(c.cpus), n.CPUs)},
			[2]string{"  └ Reserved Memory", infoBytes(c.memory) + " / " + infoBytes(n.MemoryBytes)},
			[2]string{"  └ Labels", strings.Join(labels, ", ")},
			[2]string{"  └ UpdatedAt", dockerTime(n.LastSeen)},
			[2]string{"  └ ServerVersion", cmp.Or(version, "-")},
		)
	}
	return out
}

// infoCPUs is nano-CPUs as CPUs ("0", "1.5").
func infoCPUs(nano int64) string {
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64)
}

// infoBytes is n in binary units as the docker CLI writes them
// ("1.953 GiB").
func infoBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'g', 4, 64) + " " + units[i]
}
