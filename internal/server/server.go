// Package server is Wharf's composition root: it builds the store, the PKI,
// the API server, the agent gateway and the controllers, runs them, and
// stops them in order. On an etcd that several servers share it first
// waits to be elected the active one (leader.go). It holds no logic of its
// own beyond wiring and start-up; every decision lives in the component
// that owns it.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/apiserver"
	"github.com/wharfhq/wharf/internal/controller"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/gateway"
	"github.com/wharfhq/wharf/internal/imageresolve"
	"github.com/wharfhq/wharf/internal/install"
	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/throttle"
	"github.com/wharfhq/wharf/internal/ui"
)

// Config is everything `wharf server` takes.
type Config struct {
	DataDir       string
	EtcdEndpoints []string // empty: embedded etcd in DataDir
	Addr          string   // API listen address, default ":7443"
	AgentAddr     string   // agent gateway listen address, default ":7444"
	// DockerAddr, when set, serves the Docker Engine API there (TLS with
	// Docker client certificates only; see internal/dockerapi).
	DockerAddr string
	// Advertise is the host (name or IP) agents and clients use to reach this
	// server; it goes into the server certificate and join commands.
	Advertise      string
	TLSCert        string // optional: serve the API with this certificate
	TLSKey         string
	Insecure       bool // plain HTTP for the API; only allowed on a loopback address
	HeartbeatGrace time.Duration
	// ACME is where router nodes get certificates for https routes that
	// name none; an empty Directory turns it off.
	ACME api.ACMEConfig
	// NodeLossGrace is how long after its last heartbeat a node that
	// stopped heartbeating has its containers placed elsewhere (default
	// controller.DefaultNodeLossGrace); its agent fences before that.
	NodeLossGrace time.Duration
	// LeaderTTL is how long a standby server on a shared etcd waits for an
	// active one that died before it takes over (default 10s).
	LeaderTTL time.Duration
	Version   api.Version
	Logger    *slog.Logger
	// Out receives the one-time messages meant for the operator (the first
	// admin token); default os.Stdout.
	Out interface{ Write([]byte) (int, error) }
	// Throttle limits failed authentications per source address (wrong API
	// tokens, failed joins): by default 10 in a minute, then refused for 1
	// minute, doubling up to 15.
	Throttle throttle.Config

	// Etcd is how to log in to the external etcd (TLS files, user and
	// password); its Endpoints are EtcdEndpoints.
	Etcd store.External
	// KEKFile holds the key-encryption key that seals the cluster's
	// secrets (default <DataDir>/kek, made on the first start). Servers
	// sharing one etcd need the same one.
	KEKFile string
	// Autolock keeps the key-encryption key on no disk: it is printed
	// once, and after a restart the server waits for `wharf server
	// unlock`. Turning it on locks an unlocked cluster.
	Autolock bool
	// RotateKEK replaces the key-encryption key at start (the new one
	// goes to KEKFile, or is printed for a locked cluster).
	RotateKEK bool

	// RegistryHost is host:port where clients and nodes reach the
	// built-in registry (default: the advertised API address; the
	// registry is served on the API listener at /v2/).
	RegistryHost string
	// RegistryS3 stores the registry's images in an S3-compatible
	// bucket when its Bucket is set (default: <DataDir>/registry).
	RegistryS3 registry.S3Config
	// RegistryS3CredentialsFile holds the bucket's credentials
	// (AWS_ACCESS_KEY_ID=..., AWS_SECRET_ACCESS_KEY=...); without it
	// the AWS SDK's own chain (environment, instance role) is used.
	RegistryS3CredentialsFile string
	// RegistryGCQuiet is how long after the registry's last write a
	// garbage collection may run (default one minute).
	RegistryGCQuiet time.Duration
	// RegistryGCInterval runs the registry's garbage collection (of
	// unreferenced blobs only) this often on the active server; 0: only
	// `wharf image gc`.
	RegistryGCInterval time.Duration
}

func (c *Config) defaults() error {
	if c.DataDir == "" {
		return errors.New("--data-dir is required")
	}
	if c.Addr == "" {
		c.Addr = ":7443"
	}
	if c.AgentAddr == "" {
		c.AgentAddr = ":7444"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.LeaderTTL == 0 {
		c.LeaderTTL = 10 * time.Second
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.Insecure && !isLoopback(c.Addr) {
		return fmt.Errorf("--insecure serves plain HTTP, which is only allowed on a loopback address, not %q", c.Addr)
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run starts the server and blocks until ctx ends; then it drains API
// requests, stops the controllers and the gateway, and closes etcd, in that
// order, so that nothing acknowledged is lost.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	log := cfg.Logger
	if fixed, err := store.EnsurePrivateDir(cfg.DataDir); err != nil {
		return err
	} else if fixed {
		log.Warn("the data dir was open to other users; it is 0700 now", "data_dir", cfg.DataDir)
	}
	st, emb, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { closeStore() }()

	sealer, err := openSealer(ctx, cfg, st, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while locked
		}
		return err
	}
	ca, migrated, err := loadOrCreateCA(ctx, st, sealer, cfg.DataDir)
	if err != nil {
		return err
	}
	if migrated {
		if st, closeStore, err = scrubStore(ctx, st, emb, closeStore, log); err != nil {
			return err
		}
	}
	apiCert, err := serverCertificate(ca, cfg)
	if err != nil {
		return err
	}
	secret, created, err := domain.Bootstrap(ctx, st, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("bootstrap admin token: %w", err)
	}
	if created {
		fmt.Fprintf(cfg.Out, "Admin API token (shown once; also in %s):\n\n    %s\n\n", filepath.Join(cfg.DataDir, "admin-token"), secret)
	}

	regKey, err := loadOrCreateRegistryKey(ctx, st, sealer)
	if err != nil {
		return err
	}
	regHost := cfg.RegistryHost
	if regHost == "" {
		regHost = advertiseAddr(cfg.Advertise, cfg.Addr)
	}
	// The domain layer signs the nodes' registry pull credentials; the
	// API server makes it below, before the gateway runs.
	var dom *domain.Domain

	// Failed API tokens and joins, per source address. The gateway has no
	// such table: see gateway's serveConn.
	failures := throttle.New(cfg.Throttle)
	gw, err := gateway.New(gateway.Config{
		Store: st, CA: ca, TLSCert: apiCert, Addr: cfg.AgentAddr,
		Advertise: advertiseAddr(cfg.Advertise, cfg.AgentAddr), HeartbeatGrace: cfg.HeartbeatGrace,
		NodeLossGrace: cmp.Or(cfg.NodeLossGrace, controller.DefaultNodeLossGrace), Logger: log.With("component", "gateway"),
		Sealer:              sealer,
		RegistryHost:        regHost,
		BuiltinRegistryAuth: builtinRegistryAuth(regHost, &dom, log.With("component", "registry")),
		ACME:                acmeConfig(cfg.ACME),
	})
	if err != nil {
		return err
	}
	svcs := controller.NewServices(st, log.With("component", "controller"), controller.WithNodeLossGrace(cfg.NodeLossGrace))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	scheme := "https"
	if cfg.Insecure {
		scheme = "http"
	}
	apiURL := scheme + "://" + advertiseAddr(cfg.Advertise, cfg.Addr)
	// On a shared etcd only the elected server runs; the others wait here
	// as standbys. An embedded etcd belongs to this server alone.
	var leaderLost <-chan struct{}
	if len(cfg.EtcdEndpoints) > 0 {
		l, err := lead(ctx, st.Client(), cfg.DataDir, apiURL, cfg.LeaderTTL, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		defer l.resign()
		leaderLost = l.lost()
	}
	ready := func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := st.Client().Get(rctx, "/wharf/health"); err != nil {
			return fmt.Errorf("store unreachable: %w", err)
		}
		if !svcs.Running() {
			return errors.New("controllers not running yet")
		}
		return nil
	}
	images, err := openRegistry(ctx, cfg, regKey, log.With("component", "registry"))
	if err != nil {
		return err
	}
	defer images.Close()
	apiSrv, err := apiserver.New(apiserver.Config{
		Store: st, Logs: gw, Join: gw, CAPEM: ca.CertPEM(), CADigest: ca.Digest(),
		// The install one-liner carries the cluster CA and trusts nothing else.
		JoinCommand: func(token string) string { return install.Command(apiURL, ca.CertPEM(), token) },
		// The environment, not a flag: a command line is readable by
		// every local user of the host in /proc/PID/cmdline.
		AgentCommand: func(token string) string {
			return fmt.Sprintf("WHARF_JOIN_TOKEN=%s wharf agent --server %s", token, apiURL)
		},
		Ready: ready, Version: cfg.Version, Logger: log.With("component", "api"), Registry: reg,
		Throttle: failures, Sealer: sealer,
		Images: images, RegistryHost: regHost, RegistryKey: derive(regKey, "node pull credentials"), ClusterCA: ca.Cert,
		// Services' images are pinned to digests through their
		// registries, trusting the system's roots and the cluster CA
		// (the built-in registry's certificate is the cluster's).
		Resolver: &imageresolve.Resolver{RootCAs: resolverRoots(ca)},
		ACME:     acmeConfig(cfg.ACME),
		DockerCA: dockerSigner(cfg, ca, apiCert, log),
	})
	if err != nil {
		return err
	}
	dom = apiSrv.Domain()
	dockerSrv, err := dockerServer(cfg, dom, ca, apiCert, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("API listen on %s: %w", cfg.Addr, err)
	}
	// The install script and the binary are public; everything else is the API.
	inst := install.Handler(install.Options{ServerURL: apiURL, CAPEM: ca.CertPEM(), Logger: log.With("component", "install")})
	mux := http.NewServeMux()
	apiHandler := apiSrv.Handler()
	// The built-in registry, behind Wharf's authentication (see
	// apiserver's RegistryHandler), on the same listener and certificate.
	regHandler := apiSrv.RegistryHandler(images.Handler())
	// The web dashboard, over the same domain layer and failure throttle.
	dash, err := ui.New(ui.Config{Domain: dom, Throttle: failures, Insecure: cfg.Insecure, Logger: log.With("component", "ui")})
	if err != nil {
		return err
	}
	var uiHandler http.Handler = dash
	if len(cfg.EtcdEndpoints) == 0 { // embedded etcd: keep its disk from filling up
		guard := apiserver.NewDiskGuard(cfg.DataDir, 0, log.With("component", "diskguard"))
		apiHandler = guard.Wrap(apiHandler)
		regHandler = guard.Wrap(regHandler)
		uiHandler = guard.Wrap(uiHandler)
	}
	mux.Handle("/", apiHandler)
	mux.Handle("/v2/", regHandler)
	mux.Handle("/ui", uiHandler)
	mux.Handle("/ui/", uiHandler)
	mux.Handle("GET /install.sh", inst)
	mux.Handle("GET /download/", inst)
	httpSrv := apiserver.NewHTTPServer(mux, apiserver.DefaultTimeouts, slog.NewLogLogger(log.Handler(), slog.LevelDebug))
	httpSrv.RegisterOnShutdown(apiSrv.StopStreams)
	httpSrv.RegisterOnShutdown(dash.Close)
	if !cfg.Insecure {
		// A client certificate is asked for, never required or checked
		// here: an agent rejoining as its node presents its node
		// certificate (the handshake proves it holds the key) and the
		// gateway's Join checks it; a node's engine pulling from the
		// built-in registry presents it too, and the domain layer checks
		// it (AuthenticateNodeCert: the cluster CA, the node's current
		// serial). Everyone else sends none. (Not VerifyClientCertIfGiven:
		// a rejoining node's expired certificate must still reach Join.)
		tlsCfg := pki.ServerTLSConfig(apiCert)
		tlsCfg.ClientAuth = tls.RequestClientCert
		ln = tls.NewListener(ln, tlsCfg)
	}

	runCtx, stopComponents := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	components := map[string]func(context.Context) error{"gateway": gw.Run, "controller": svcs.Run}
	if cfg.RegistryGCInterval > 0 {
		components["registry gc"] = func(ctx context.Context) error {
			collectPeriodically(ctx, images, cfg.RegistryGCInterval, log.With("component", "registry"))
			return nil
		}
	}
	for name, run := range components {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(runCtx); err != nil && runCtx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	go func() {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("API server: %w", err)
		}
	}()
	if dockerSrv != nil {
		defer dockerSrv.close()
		go func() {
			if err := dockerSrv.serve(); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("the Docker endpoint: %w", err)
			}
		}()
	}
	log.Info("wharf server running", "api", apiURL, "listen", ln.Addr().String(), "agents", cfg.AgentAddr, "data_dir", cfg.DataDir)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
		log.Error("stopping after a component failed", "err", runErr)
	case <-leaderLost:
		runErr = errors.New("lost the leadership of the shared etcd (its lease expired: etcd was out of reach for the leader TTL); stopping, so that a restart waits as a standby")
		log.Error("stopping", "err", runErr)
	}
	// Drain: finish in-flight requests, then stop controllers and gateway,
	// then (deferred) close etcd, which persists what it acknowledged.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(sctx)
	if dockerSrv != nil {
		dockerSrv.shutdown(sctx)
	}
	stopComponents()
	wg.Wait()
	log.Info("wharf server stopped")
	return runErr
}

func advertiseAddr(advertise, listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	host := advertise
	if host == "" {
		h, _, _ := net.SplitHostPort(listen)
		host = h
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if hn, err := os.Hostname(); err == nil {
			host = hn
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}

// openStore connects to the external etcd, or starts the embedded one
// (emb is nil for an external one).
func openStore(ctx context.Context, cfg Config) (st *store.Store, emb *store.Embedded, closeStore func(), err error) {
	if len(cfg.EtcdEndpoints) > 0 {
		x := cfg.Etcd
		x.Endpoints = cfg.EtcdEndpoints
		cli, err := store.Connect(ctx, x)
		if err != nil {
			return nil, nil, nil, err
		}
		return store.New(cli, "/wharf"), nil, func() { _ = cli.Close() }, nil
	}
	e, err := store.StartEmbedded(ctx, cfg.DataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	return store.New(e.Client, "/wharf"), e, e.Close, nil
}

// scrubStore drops the history of an embedded etcd after a plaintext
// secret in it was sealed, so that the plaintext is gone from its files
// too, and returns the store on the rewritten etcd. An external etcd's
// history is its operators' to compact; the log says so.
func scrubStore(ctx context.Context, st *store.Store, emb *store.Embedded, closeStore func(), log *slog.Logger) (*store.Store, func(), error) {
	if emb == nil {
		log.Warn("sealed the CA key that an earlier version stored in plaintext; the plaintext stays in the external etcd's history and files until you compact and defragment it (etcdctl compact <current revision>; etcdctl defrag --cluster) and its WAL segments are purged")
		return st, closeStore, nil
	}
	e, err := emb.Rewrite(ctx)
	if err != nil {
		return st, closeStore, err
	}
	log.Info("sealed the CA key that an earlier version stored in plaintext, and dropped the store's history that held it")
	return store.New(e.Client, "/wharf"), e.Close, nil
}

// resolverRoots are the system's roots plus the cluster CA.
func resolverRoots(ca *pki.CA) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(ca.Cert)
	return pool
}

// acmeConfig is c for the gateway: nil when no directory is set.
func acmeConfig(c api.ACMEConfig) *api.ACMEConfig {
	if c.Directory == "" {
		return nil
	}
	return &c
}
