package agentcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/promtext"
)

// agentRouterFlags are the agent's flags for the router it runs while its
// node carries the wharf.router label, and for its metrics listener.
type agentRouterFlags struct {
	trusted     []string
	metricsAddr string
}

func addAgentRouterFlags(f *pflag.FlagSet, cfg *agent.RouterConfig, o *agentRouterFlags) {
	f.StringVar(&cfg.HTTPAddr, "router-http-addr", ":80", "where the router listens for HTTP when this node is a router (label wharf.router=true)")
	f.StringVar(&cfg.HTTPSAddr, "router-https-addr", ":443", "where the router listens for HTTPS when this node is a router")
	f.StringArrayVar(&o.trusted, "router-trusted-proxy", nil, "an address or CIDR of a load balancer in front of the routers whose connections may start with a PROXY protocol header (v1 or v2) carrying the client's address; repeatable")
	f.StringVar(&cfg.AccessLog, "router-access-log", "", "file the router appends one JSON line per request and per TCP connection to (default: none)")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve the agent's Prometheus metrics (the router's per route) on this address, e.g. 127.0.0.1:9180 (default: off)")
}

// resolve parses the trusted proxies into cfg.
func (o *agentRouterFlags) resolve(cfg *agent.RouterConfig) error {
	for _, s := range o.trusted {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return fmt.Errorf("--router-trusted-proxy %q: want an IP address or a CIDR such as 10.0.0.0/8", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
	}
	return nil
}

// serveMetrics serves reg on addr until ctx ends; "" serves nothing. The
// listener is opened before the agent starts, so a bad address fails the
// command at once.
func serveMetrics(ctx context.Context, addr string, reg *promtext.Registry, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener ended", "err", err)
		}
	}()
	log.Info("metrics served", "addr", ln.Addr().String())
	return nil
}
