package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"sync"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/promtext"
	"github.com/wharfhq/wharf/internal/router"
	"github.com/wharfhq/wharf/internal/router/acme"
)

// RouterConfig is how the agent's router listens while the node carries
// api.RouterLabel (the gateway then pushes it the organization's route
// table, PUT /agent/v1/routes; see docs/routing.md).
type RouterConfig struct {
	// HTTPAddr and HTTPSAddr are the router's listeners (":80", ":443").
	HTTPAddr, HTTPSAddr string
	// TrustedProxies may open connections with a PROXY protocol header
	// (a load balancer in front of the routers).
	TrustedProxies []netip.Prefix
	// AccessLog, when set, is a file the router appends one JSON line
	// per request and per TCP connection to.
	AccessLog string
	// Metrics, when set, gets the router's metrics.
	Metrics *promtext.Registry
}

// routerPlane runs the node's router once the gateway says the node is
// one, and stops it when it says it no longer is.
type routerPlane struct {
	a *Agent

	mu  sync.Mutex
	r   *router.Router // nil while the node is no router
	rev int64
	log io.WriteCloser
}

// apply serves t: it starts the router on the first table that says the
// node is a router, and stops it on one that says it is not. A table
// older than the one served is ignored (pushes are latest-wins).
func (p *routerPlane) apply(t *api.RouteTable) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.Revision < p.rev {
		return nil
	}
	p.rev = t.Revision
	if !t.Router {
		if p.r == nil {
			return nil
		}
		err := p.r.Close()
		p.r = nil
		p.closeLog()
		p.a.log.Info("router stopped: the node is no router any more")
		return err
	}
	if p.r == nil {
		r, err := p.start()
		if err != nil {
			return err
		}
		p.r = r
	}
	return p.r.Apply(t)
}

// start makes the router; p.mu is held.
func (p *routerPlane) start() (*router.Router, error) {
	c := p.a.cfg.Router
	cfg := router.Config{HTTPAddr: c.HTTPAddr, HTTPSAddr: c.HTTPSAddr, TrustedProxies: c.TrustedProxies,
		Metrics: c.Metrics, Log: p.a.log.With("part", "router"), NewCertManager: p.newCertManager}
	if c.AccessLog != "" {
		f, err := os.OpenFile(c.AccessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("router access log: %w", err)
		}
		p.log, cfg.AccessLog = f, f
	}
	r, err := router.New(cfg)
	if err != nil {
		p.closeLog()
		return nil, err
	}
	p.a.log.Info("router started", "http", c.HTTPAddr, "https", c.HTTPSAddr)
	return r, nil
}

// newCertManager gets certificates by ACME, keeping them in the
// organization's cache on the server (ACMECache).
func (p *routerPlane) newCertManager(cfg api.ACMEConfig) (router.CertManager, error) {
	return acme.New(cfg, p.a.ACMECache(), p.a.log.With("part", "acme"))
}

func (p *routerPlane) closeLog() {
	if p.log != nil {
		_ = p.log.Close()
		p.log = nil
	}
}

// stop ends the router when the agent ends.
func (p *routerPlane) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.r != nil {
		_ = p.r.Close()
		p.r = nil
	}
	p.closeLog()
}

// handleRoutes takes the organization's route table from the gateway. A
// listener that cannot open (a port in use) is logged and the rest of
// the table served: the gateway would only send the same table again.
func (s *agentSession) handleRoutes(w http.ResponseWriter, r *http.Request) {
	var t api.RouteTable
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&t); err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "bad route table: "+err.Error()))
		return
	}
	if err := s.a.routes.apply(&t); err != nil {
		s.a.log.Error("router: part of the route table is not served", "revision", t.Revision, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
}
