package dockerapi

// Wharf's networks as Docker's: each is a multi-host overlay network of
// the actor's organization (Driver "overlay", Scope "swarm"). A Docker
// name maps onto a Wharf name by turning '_' and '.' into '-'
// (docker-compose's "<project>_default" is "<project>-default"); Wharf
// keeps no network labels or driver options. See docs/docker-api.md,
// "Images, networks and volumes".

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// networkRoutes serves Wharf's networks as Docker's.
func (s *Server) networkRoutes() {
	s.handle("GET /networks", s.networkList)
	s.handle("GET /networks/{$}", s.networkList)
	s.handle("GET /networks/{id}", s.networkInspect)
	s.handle("POST /networks/create", s.networkCreate)
	s.handle("DELETE /networks/{id}", s.networkRemove)
	s.handle("POST /networks/{id}/connect", s.networkConnect)
	s.handle("POST /networks/{id}/disconnect", s.networkConnectRefused)
	s.handle("POST /networks/prune", s.networkPruneRefused)
}

// wharfNetworkName is the Wharf name of a Docker network name: '_' and
// '.' become '-' (Wharf's names are DNS labels).
func wharfNetworkName(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(name)
}

// dockerNetwork finds the network a Docker call names: by Wharf ID or
// name, else by the Wharf name of a Docker name. The containers' create
// calls it for the networks a client attaches (NetworkMode,
// NetworkingConfig).
func (s *Server) dockerNetwork(ctx context.Context, a domain.Actor, ref string) (*api.Network, error) {
	n, err := s.d.InspectNetwork(ctx, a, ref)
	if err == nil || !errdefs.IsNotFound(err) {
		return n, err
	}
	if w := wharfNetworkName(ref); w != ref {
		if n, err2 := s.d.InspectNetwork(ctx, a, w); err2 == nil || !errdefs.IsNotFound(err2) {
			return n, err2
		}
	}
	return nil, errdefs.New(errdefs.ErrNotFound, "network "+ref+" not found")
}

// toDockerNetwork shows n as Docker does; cts, when given, are the
// organization's containers, of which those on n are listed.
func toDockerNetwork(n *api.Network, cts []api.Container) network.Inspect {
	v := network.Inspect{Network: network.Network{
		Name: n.Name, ID: n.ID, Created: n.CreatedAt, Scope: "swarm", Driver: "overlay", EnableIPv4: true, Attachable: true,
		IPAM:    network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
		Options: map[string]string{"com.wharf.vni": strconv.Itoa(n.VNI)}, Labels: map[string]string{},
	}, Containers: map[string]network.EndpointResource{}}
	if v.Created.IsZero() {
		v.Created = time.Unix(0, 0).UTC()
	}
	if p, err := netip.ParsePrefix(n.Subnet); err == nil {
		c := network.IPAMConfig{Subnet: p}
		c.Gateway, _ = netip.ParseAddr(n.Gateway)
		v.IPAM.Config = append(v.IPAM.Config, c)
	}
	for _, ct := range cts {
		for _, at := range ct.Spec.Networks {
			if at.Network != n.ID {
				continue
			}
			e := network.EndpointResource{Name: ct.Name, EndpointID: ct.ID}
			if ip, err := netip.ParseAddr(at.IP); err == nil {
				bits := 32
				if p, err := netip.ParsePrefix(at.Subnet); err == nil {
					bits = p.Bits()
				}
				e.IPv4Address = netip.PrefixFrom(ip, bits)
			}
			v.Containers[ct.ID] = e
		}
	}
	return v
}

// networkMatches tells whether n passes the filters of GET /networks that Wharf's networks
// answer: name (a substring), id (a prefix), driver, scope and type.
// A label filter matches no network: Wharf keeps no network labels.
func networkMatches(n network.Inspect, filters map[string][]string) bool {
	match := func(key string, ok func(string) bool) bool {
		vs := filters[key]
		if len(vs) == 0 {
			return true
		}
		for _, v := range vs {
			if ok(v) {
				return true
			}
		}
		return false
	}
	return match("name", func(v string) bool {
		return strings.Contains(n.Name, v) || strings.Contains(n.Name, wharfNetworkName(v))
	}) &&
		match("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		match("driver", func(v string) bool { return v == n.Driver }) &&
		match("scope", func(v string) bool { return v == n.Scope }) &&
		match("type", func(v string) bool { return v == "custom" }) &&
		match("label", func(string) bool { return false }) &&
		match("dangling", func(v string) bool {
			return v == "false" || v == "0" || (v == "true" || v == "1") == (len(n.Containers) == 0)
		})
}

// parseListFilters reads Docker's filters query parameter: {"key": ["v"]} or,
// from old clients, {"key": {"v": true}}.
func parseListFilters(r *http.Request) (map[string][]string, error) {
	raw := r.URL.Query().Get("filters")
	out := map[string][]string{}
	if raw == "" {
		return out, nil
	}
	var lists map[string][]string
	if err := json.Unmarshal([]byte(raw), &lists); err == nil {
		return lists, nil
	}
	var sets map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &sets); err != nil {
		return nil, errdefs.Invalid("filters", "%q is not Docker's filters JSON: want {\"name\":[\"value\"]}", raw)
	}
	for k, set := range sets {
		for v, on := range set {
			if on {
				out[k] = append(out[k], v)
			}
		}
	}
	return out, nil
}

// networkList is GET /networks (docker network ls).
func (s *Server) networkList(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	filters, err := parseListFilters(r)
	if err != nil {
		return err
	}
	l, err := s.d.ListNetworks(r.Context(), a)
	if err != nil {
		return err
	}
	cts, err := s.knownContainers(r.Context(), a)
	if !permitted(err) {
		return err
	}
	out := []network.Inspect{}
	for i := range l.Items {
		v := toDockerNetwork(&l.Items[i], cts)
		if networkMatches(v, filters) {
			if versionLess(requestVersion(r), "1.28") {
				v.Containers = map[string]network.EndpointResource{}
			}
			out = append(out, v)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// networkInspect is GET /networks/{id} (docker network inspect).
func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	n, err := s.dockerNetwork(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	cts, err := s.knownContainers(r.Context(), a)
	if !permitted(err) {
		return err
	}
	return writeJSON(w, http.StatusOK, toDockerNetwork(n, cts))
}

// networkCreateRequest is the body of POST /networks/create.
type networkCreateRequest struct {
	Name       string
	Driver     string
	Scope      string
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigOnly bool
	EnableIPv6 *bool
	IPAM       *struct {
		Driver string
		Config []struct {
			Subnet  string
			IPRange string
			Gateway string
		}
		Options map[string]string
	}
	Options map[string]string
	Labels  map[string]string
}

// networkCreate is POST /networks/create: a Wharf network of the Wharf
// name of the Docker name, on the subnet asked for or the organization's
// next free /16. What a Wharf network cannot be is refused.
func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	var req networkCreateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		return errdefs.Invalid("body", "the network to create is not JSON: %v", err)
	}
	if req.Name == "" {
		return errdefs.Invalid("Name", "name the network: docker network create NAME")
	}
	refuse := func(what string) error {
		return errdefs.Invalid("network", "network %s: Wharf's networks are overlay networks across the organization's nodes, one IPv4 subnet each, so %s cannot be honoured", req.Name, what)
	}
	switch {
	case req.Driver != "" && req.Driver != "overlay" && req.Driver != "bridge":
		return refuse("driver " + req.Driver)
	case req.Internal:
		return refuse("an internal network (one without outside access)")
	case req.Ingress || req.ConfigOnly:
		return refuse("an ingress or config-only network")
	case req.EnableIPv6 != nil && *req.EnableIPv6:
		return refuse("IPv6")
	case len(req.Options) > 0:
		return refuse("driver options")
	}
	subnet := ""
	if req.IPAM != nil {
		if req.IPAM.Driver != "" && req.IPAM.Driver != "default" {
			return refuse("IPAM driver " + req.IPAM.Driver)
		}
		if len(req.IPAM.Config) > 1 {
			return refuse("more than one subnet")
		}
		if len(req.IPAM.Config) == 1 {
			c := req.IPAM.Config[0]
			subnet = c.Subnet
			if c.IPRange != "" && c.IPRange != c.Subnet {
				return refuse("an IP range inside the subnet")
			}
			if p, err := netip.ParsePrefix(c.Subnet); c.Gateway != "" && (err != nil || p.Masked().Addr().Next().String() != c.Gateway) {
				return refuse("gateway " + c.Gateway + " (a network's gateway is its subnet's first address)")
			}
		}
	}
	name := wharfNetworkName(req.Name)
	if existing, err := s.d.InspectNetwork(r.Context(), a, name); err == nil {
		return errdefs.New(errdefs.ErrConflict, "network with name "+req.Name+" already exists (Wharf network "+existing.Name+")")
	}
	var (
		n   *api.Network
		err error
	)
	if subnet == "" {
		n, err = s.d.CreateNetworkAnySubnet(r.Context(), a, name)
	} else {
		n, err = s.d.CreateNetwork(r.Context(), a, api.NetworkCreate{Name: name, Subnet: subnet})
	}
	if err != nil {
		return err
	}
	resp := network.CreateResponse{ID: n.ID}
	if len(req.Labels) > 0 {
		resp.Warning = "Wharf keeps no network labels: the network was created without them"
	}
	return writeJSON(w, http.StatusCreated, resp)
}

// networkRemove is DELETE /networks/{id}. A network whose containers are
// still being removed (docker-compose down removes the containers, then
// the network at once) is waited for, a while.
func (s *Server) networkRemove(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	n, err := s.dockerNetwork(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(networkRemoveWait)
	for {
		err = s.d.RemoveNetwork(r.Context(), a, n.ID)
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		if !errors.Is(err, errdefs.ErrConflict) || time.Now().After(deadline) {
			return err
		}
		cur, ierr := s.d.InspectNetwork(r.Context(), a, n.ID)
		if ierr != nil || cur.Addresses == 0 {
			return err // a service uses it: that will not pass by waiting
		}
		select {
		case <-r.Context().Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// networkRemoveWait bounds how long a removal waits for the addresses of
// containers being removed to be given back.
const networkRemoveWait = 30 * time.Second

// networkConnect is POST /networks/{id}/connect: a container already on
// the network (its service joins it) is answered as connected, which is
// what docker-compose asks before it starts each container (the aliases
// it asks for are not served: see docs/docker-api.md); any other connect
// is refused.
func (s *Server) networkConnect(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	var req network.ConnectRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		return errdefs.Invalid("body", "the container to connect is not JSON: %v", err)
	}
	n, err := s.dockerNetwork(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	snap, err := s.load(r.Context(), a)
	if err != nil {
		return err
	}
	e, err := snap.find(req.Container)
	if err != nil {
		return err
	}
	if ep := req.EndpointConfig; ep != nil && (!noAddresses(ep.IPAMConfig) || len(ep.Links) > 0) {
		return errdefs.Invalid("EndpointConfig", "Wharf cannot set a container's links or addresses on network %s: drop --link and --ip", n.Name)
	}
	joined := e.svc != nil && (slices.Contains(e.svc.Spec.Networks, n.Name) || n.Default && len(e.svc.Spec.Networks) == 0 && e.svc.Spec.NetworkMode == "")
	if !joined {
		return s.networkConnectRefused(w, r, a)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) networkConnectRefused(_ http.ResponseWriter, r *http.Request, _ domain.Actor) error {
	return errdefs.New(errdefs.ErrNotImplemented, "Wharf's Docker endpoint does not connect or disconnect running containers: a container's networks are its service's, set when it is created (docker run --network, a compose file's networks) or by `wharf service update SERVICE --network NAME`")
}

func (s *Server) networkPruneRefused(_ http.ResponseWriter, _ *http.Request, _ domain.Actor) error {
	return errdefs.New(errdefs.ErrNotImplemented, "Wharf's Docker endpoint does not prune networks: remove them one by one (docker network rm NAME, or `wharf network rm NAME`)")
}
