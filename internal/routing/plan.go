package routing

// The plan of one organization's routes: every service's resolved
// routes, which of them a router serves, their backends, and why a route
// or a container serves nothing. Table and Status are two views of it.

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// Inputs are one organization's objects: its services, their containers,
// its nodes, its secrets (name -> value) and the server's ACME settings
// (nil: none).
type Inputs struct {
	Services   []*api.Service
	Containers []*api.Container
	Nodes      []*api.Node
	Secrets    map[string]string
	ACME       *api.ACMEConfig
}

// planned is one resolved route of a service.
type planned struct {
	svc   *api.Service
	route api.Route
	opts  api.RouteOptions
	// cert names the https route's certificate: a secret, or
	// EnvCertName; "" for ACME.
	cert, certPEM string
	backends      []api.Backend
	statuses      []api.BackendStatus
	// problem says why the route is not served (omitted) or serves
	// nothing.
	problem string
	omitted bool
}

// plan is the routes of every live service of in, services oldest first
// (the older keeps a host and path two claim), each service's routes in
// its order; and the problems of the services whose routes do not
// resolve.
type plan struct {
	routes []*planned
	broken map[string]string // service ID -> why its routes do not resolve
}

func makePlan(in Inputs) plan {
	nodes := make(map[string]*api.Node, len(in.Nodes))
	for _, n := range in.Nodes {
		nodes[n.ID] = n
	}
	byService := map[string][]*api.Container{}
	for _, c := range in.Containers {
		byService[c.Spec.Service] = append(byService[c.Spec.Service], c)
	}
	svcs := slices.Clone(in.Services)
	slices.SortFunc(svcs, func(a, b *api.Service) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	p := plan{broken: map[string]string{}}
	claims := map[string]*api.Service{}
	for _, svc := range svcs {
		if svc.Terminating {
			continue
		}
		res, err := Resolve(svc.Spec)
		if err != nil {
			p.broken[svc.ID] = err.Error()
			continue
		}
		ctrs := byService[svc.ID]
		slices.SortFunc(ctrs, func(a, b *api.Container) int {
			return cmp.Or(cmp.Compare(a.Spec.Slot, b.Spec.Slot), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
		})
		for _, r := range res.Routes {
			pr := &planned{svc: svc, route: r, opts: res.Options}
			p.routes = append(p.routes, pr)
			k := routeKey(r)
			if owner, taken := claims[k]; taken {
				pr.omitted = true
				if owner == svc {
					pr.problem = "the service has this route twice"
				} else {
					pr.problem = fmt.Sprintf("service %s (older) has this route: one service per host and path (or tcp port); remove the route from one of them", owner.Name)
				}
			} else {
				claims[k] = svc
				pr.certificate(in, res)
			}
			pr.backendsOf(ctrs, nodes)
			if pr.omitted {
				// Listed, but not routed.
				pr.backends = nil
				for i := range pr.statuses {
					pr.statuses[i].Ready, pr.statuses[i].Address = false, ""
				}
			}
			if pr.problem == "" && len(pr.backends) == 0 {
				pr.problem = "no container is ready"
			}
		}
	}
	return p
}

// certificate picks an https route's certificate, or omits the route
// when it has none to serve.
func (pr *planned) certificate(in Inputs, res Resolved) {
	if pr.route.Protocol != api.RouteHTTPS {
		pr.opts.Certificate = ""
		return
	}
	switch {
	case pr.opts.Certificate != "":
		pem, ok := in.Secrets[pr.opts.Certificate]
		if !ok {
			pr.omitted = true
			pr.problem = fmt.Sprintf("certificate secret %q not found: create it with the PEM certificate and key (wharf secret create %s FILE)", pr.opts.Certificate, pr.opts.Certificate)
			return
		}
		pr.cert, pr.certPEM = pr.opts.Certificate, pem
	case res.EnvCertificate != "":
		pr.cert, pr.certPEM = EnvCertName(pr.svc.ID), res.EnvCertificate
		pr.opts.Certificate = pr.cert
	case in.ACME == nil:
		pr.omitted = true
		pr.problem = "no certificate: name a secret that holds one (--route-cert), or give the server an ACME directory"
	case strings.Contains(pr.route.Host, "*"):
		pr.omitted = true
		pr.problem = "no certificate: ACME gets none for a wildcard host; name a secret that holds one (--route-cert)"
	}
}

// backendsOf finds the route's backends among the service's containers,
// and says of each container why it is not one.
func (pr *planned) backendsOf(ctrs []*api.Container, nodes map[string]*api.Node) {
	for _, c := range ctrs {
		if c.Spec.Desired == api.ContainerTerminated && c.Status.State == api.ContainerTerminated {
			continue
		}
		st := api.BackendStatus{Container: c.Name, Status: c.Status.DisplayState()}
		n := nodes[c.Spec.Node]
		if n != nil {
			st.Node = n.Name
		}
		addr, why := backendAddress(c, n, pr.route.Port)
		switch {
		case c.Spec.Desired != api.ContainerRunning:
			st.Status += " (leaving: desired " + strings.ToLower(string(c.Spec.Desired)) + ")"
		case !c.Ready():
			if c.Status.State == api.ContainerRunning && c.Status.Health != "" {
				st.Status += " (health " + c.Status.Health + ")"
			}
		case why != "":
			st.Status += " (" + why + ")"
		default:
			st.Ready, st.Address = true, addr
			pr.backends = append(pr.backends, api.Backend{Container: c.ID, Node: c.Spec.Node, Address: addr})
		}
		pr.statuses = append(pr.statuses, st)
	}
}

// backendAddress is where a router reaches container port port of c
// ("node address:host port"), or why it cannot.
func backendAddress(c *api.Container, n *api.Node, port int) (addr, why string) {
	switch {
	case c.Spec.Node == "":
		return "", "not placed"
	case n == nil:
		return "", "its node is gone"
	case n.State != api.NodeDeployed:
		return "", "node " + n.Name + " is " + string(n.State)
	case n.Address == "":
		return "", "node " + n.Name + " has no address for routers (its agent predates routing, or sent none)"
	}
	host, hostPort := n.Address, 0
	switch {
	case c.Spec.Driver != "docker":
		hostPort = c.Status.HostPort
	case c.Spec.NetworkMode == "host":
		hostPort = port
	default:
		for _, b := range c.Status.Ports {
			if b.ContainerPort == port && (b.Protocol == "" || b.Protocol == "tcp") {
				hostPort = b.HostPort
				if b.HostIP != "" && b.HostIP != "0.0.0.0" && b.HostIP != "::" {
					host = b.HostIP
				}
				break
			}
		}
	}
	if hostPort == 0 {
		if c.Spec.Driver != "docker" {
			return "", "no port reported yet"
		}
		return "", "port " + strconv.Itoa(port) + " not published"
	}
	return net.JoinHostPort(host, strconv.Itoa(hostPort)), ""
}
