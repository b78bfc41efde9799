// Package apiserver serves Wharf's REST API under /v1: JSON in and out, API
// tokens for every /v1 route except the CA and join, compare-and-swap on
// every update, an audit action for every mutating call, and an event in the
// same store transaction as every state change it makes. It also serves the
// unauthenticated /livez, /readyz, /version and /metrics.
//
// Handlers return errors; one table (errors.go) turns them into statuses.
package apiserver

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/throttle"
)

// LogSource streams a container's logs from its node (the agent gateway
// implements it). It returns an errdefs.ErrUnavailable error when the node is
// not connected. tail 0 means every line.
type LogSource interface {
	ContainerLogs(ctx context.Context, c *api.Container, follow bool, tail int, w io.Writer) error
}

// Joiner enrolls a new node (the agent gateway implements it). Errors are
// errdefs errors.
type Joiner interface {
	// peer is the join connection's TLS client certificates (nil when it
	// sent none): a rejoin's proof of the node's identity.
	Join(ctx context.Context, req api.JoinRequest, remoteAddr string, peer []*x509.Certificate) (api.JoinResponse, error)
}

// Config is what the API server needs. Only Store is required.
type Config struct {
	Store *store.Store
	// Domain is the domain layer the handlers call; New makes one over
	// Store, Logs, Join, CADigest, JoinCommand and AgentCommand when nil.
	Domain      *domain.Domain
	Logs        LogSource
	Join        Joiner
	CAPEM       []byte                    // served at GET /v1/ca (public)
	CADigest    string                    // put into join tokens
	JoinCommand func(token string) string // the command line shown with a new join token
	// AgentCommand is the plain `wharf agent` line for a new token, for a
	// host that has the binary already.
	AgentCommand func(token string) string
	// Ready reports readiness for /readyz: nil means ready. When Ready is
	// nil, /readyz checks that etcd answers.
	Ready        func(ctx context.Context) error
	Version      api.Version
	MaxBodyBytes int64 // default 1 MiB
	Logger       *slog.Logger
	// Registry is where the wharf_http_* metrics are registered; /metrics
	// serves it. A new registry is made when nil.
	Registry *prometheus.Registry
	// Sealer seals secrets (the domain layer New makes needs it to create
	// or update one).
	Sealer *seal.Sealer
	// Resolver pins services' images to digests (nil: not pinned; see
	// domain.ImageResolver).
	Resolver domain.ImageResolver
	// Throttle counts failed authentications (bad API tokens, failed
	// joins) per source address and refuses a source that failed too often
	// with 429. One with throttle's defaults is made when nil.
	Throttle *throttle.Limiter
	// Images, RegistryHost, RegistryKey and ClusterCA are the built-in
	// registry's, for the domain layer New makes (see domain.Config).
	Images       domain.ImageStore
	RegistryHost string
	RegistryKey  []byte
	ClusterCA    *x509.Certificate
	// DockerCA signs Docker API client certificates (nil: the server has
	// no Docker endpoint).
	DockerCA domain.DockerSigner
	// ACME is the server's ACME settings for the routers (nil: none).
	ACME *api.ACMEConfig
}

// Server is the API server. Make it with New.
type Server struct {
	cfg       Config
	d         *domain.Domain
	st        *store.Store
	log       *slog.Logger
	mux       *http.ServeMux
	metrics   *metrics
	heartbeat time.Duration // SSE comment interval
	logStart  time.Duration // how long a followed log waits before sending headers
	// maxBuildContext bounds an uploaded build context
	// (api.MaxBuildContext; tests lower it).
	maxBuildContext int64
	streams         *streams
	// table is every route routes() served, in its order: tests walk it
	// (the cross-organization test calls each one).
	table []route
}

// New checks cfg and builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("apiserver: Config.Store is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Throttle == nil {
		cfg.Throttle = throttle.New(throttle.Config{})
	}
	if cfg.Domain == nil {
		d, err := newDomain(cfg)
		if err != nil {
			return nil, err
		}
		cfg.Domain = d
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		d:         cfg.Domain,
		st:        cfg.Store,
		log:       cfg.Logger,
		streams:   newStreams(),
		mux:       http.NewServeMux(),
		metrics:   m,
		heartbeat: 15 * time.Second,
		logStart:  500 * time.Millisecond,

		maxBuildContext: api.MaxBuildContext,
	}
	s.routes()
	return s, nil
}

// newDomain makes the domain layer over cfg's store and agent interfaces.
func newDomain(cfg Config) (*domain.Domain, error) {
	return domain.New(domain.Config{
		Store: cfg.Store, Logs: cfg.Logs, Join: cfg.Join, CADigest: cfg.CADigest,
		JoinCommand: cfg.JoinCommand, AgentCommand: cfg.AgentCommand, Sealer: cfg.Sealer,
		Images: cfg.Images, RegistryHost: cfg.RegistryHost, RegistryKey: cfg.RegistryKey, ClusterCA: cfg.ClusterCA, DockerCA: cfg.DockerCA,
		Resolver: cfg.Resolver, ACME: cfg.ACME,
	})
}

// Domain is the domain layer the handlers call.
func (s *Server) Domain() *domain.Domain { return s.d }

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler { return s.streams.wrap(s.mux) }

// access says who may call a route.
type access int

const (
	public access = iota // no token
	authed               // an API token; what it may do is the domain layer's to decide
)

// handlerFunc is a handler that reports failure by returning an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method string
	path   string
	kind   string // object kind, for actions
	access access
	h      handlerFunc
}

func (s *Server) routes() {
	rs := []route{
		{"GET", "/v1/nodes", "node", authed, s.listNodes},
		{"GET", "/v1/nodes/{id}", "node", authed, s.getNode},
		{"PATCH", "/v1/nodes/{id}", "node", authed, s.patchNode},
		{"DELETE", "/v1/nodes/{id}", "node", authed, s.deleteNode},

		{"POST", "/v1/services", "service", authed, s.createService},
		{"GET", "/v1/services", "service", authed, s.listServices},
		{"GET", "/v1/services/{id}", "service", authed, s.getService},
		{"DELETE", "/v1/services/{id}", "service", authed, s.deleteService},
		{"POST", "/v1/services/{id}/scale", "service", authed, s.scaleService},
		{"POST", "/v1/services/{id}/stop", "service", authed, s.stopService},
		{"POST", "/v1/services/{id}/start", "service", authed, s.startService},
		{"POST", "/v1/services/{id}/restart", "service", authed, s.restartService},
		{"POST", "/v1/services/{id}/redeploy", "service", authed, s.restartService},
		{"PATCH", "/v1/services/{id}", "service", authed, s.updateService},
		{"GET", "/v1/services/{id}/logs", "service", authed, s.serviceLogs},

		{"PUT", "/v1/stacks/{id}", "stack", authed, s.deployStack},
		{"GET", "/v1/stacks", "stack", authed, s.listStacks},
		{"GET", "/v1/stacks/{id}", "stack", authed, s.getStack},
		{"DELETE", "/v1/stacks/{id}", "stack", authed, s.deleteStack},
		{"POST", "/v1/stacks/{id}/stop", "stack", authed, s.stopStack},
		{"POST", "/v1/stacks/{id}/start", "stack", authed, s.startStack},
		{"POST", "/v1/stacks/{id}/redeploy", "stack", authed, s.redeployStack},

		{"GET", "/v1/containers", "container", authed, s.listContainers},
		{"GET", "/v1/containers/{id}", "container", authed, s.getContainer},
		{"GET", "/v1/containers/{id}/logs", "container", authed, s.containerLogs},
		{"POST", "/v1/containers/{id}/exec", "container", authed, s.execContainer},

		{"POST", "/v1/secrets", "secret", authed, s.createSecret},
		{"GET", "/v1/secrets", "secret", authed, s.listSecrets},
		{"GET", "/v1/secrets/{id}", "secret", authed, s.getSecret},
		{"PUT", "/v1/secrets/{id}", "secret", authed, s.updateSecret},
		{"PATCH", "/v1/secrets/{id}", "secret", authed, s.updateSecret},
		{"DELETE", "/v1/secrets/{id}", "secret", authed, s.deleteSecret},

		{"POST", "/v1/networks", "network", authed, s.createNetwork},
		{"GET", "/v1/networks", "network", authed, s.listNetworks},
		{"GET", "/v1/networks/{id}", "network", authed, s.getNetwork},
		{"DELETE", "/v1/networks/{id}", "network", authed, s.deleteNetwork},

		{"GET", "/v1/routes", "route", authed, s.routerStatus},

		{"GET", "/v1/registry/logins", "registry", authed, s.listRegistryLogins},
		{"PUT", "/v1/registry/logins/{id}", "registry", authed, s.registryLogin},
		{"DELETE", "/v1/registry/logins/{id}", "registry", authed, s.registryLogout},

		{"GET", "/v1/events", "event", authed, s.events},
		{"GET", "/v1/actions", "action", authed, s.listActions},

		{"POST", "/v1/tokens", "token", authed, s.createToken},
		{"GET", "/v1/tokens", "token", authed, s.listTokens},
		{"DELETE", "/v1/tokens/{id}", "token", authed, s.deleteToken},
		{"POST", "/v1/join-tokens", "jointoken", authed, s.createJoinToken},
		{"GET", "/v1/join-tokens", "jointoken", authed, s.listJoinTokens},
		{"POST", "/v1/ui/signin-codes", "token", authed, s.createSignInCode},
		{"DELETE", "/v1/join-tokens/{id}", "jointoken", authed, s.deleteJoinToken},

		{"GET", "/v1/registry", "", authed, s.registryInfo},
		{"GET", "/v1/images", "image", authed, s.listImages},
		{"DELETE", "/v1/images", "image", authed, s.removeImage},
		{"POST", "/v1/images/gc", "image", authed, s.collectImageGarbage},
		{"POST", "/v1/builds", "image", authed, s.build},

		{"POST", "/v1/join", "node", public, s.join},
		{"GET", "/v1/ca", "", public, s.ca},

		{"GET", "/livez", "", public, s.livez},
		{"GET", "/readyz", "", public, s.readyz},
		{"GET", "/version", "", public, s.version},
		{"GET", "/metrics", "", public, s.serveMetrics},
	}
	rs = append(rs, s.accountRoutes()...)
	s.table = rs
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range rs {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// The same paths without a method answer 405 with the methods they have.
	for _, p := range paths {
		s.mux.Handle(p, s.wrap(route{path: p, access: public, h: methodNotAllowed(allowed[p])}))
	}
	s.mux.Handle("/", s.wrap(route{path: "unmatched", access: public, h: notFound}))
}

func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// wrap adds metrics, authentication, authorization, action recording and
// panic recovery around a route's handler.
func (s *Server) wrap(rt route) http.Handler {
	recordable := !isRead(rt.method) && rt.method != "" && strings.HasPrefix(rt.path, "/v1/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		info := &reqInfo{kind: rt.kind, object: r.PathValue("id")}
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		r = r.WithContext(domain.Noting(ctx, &info.note))
		defer func() { s.metrics.observe(r.Method, rt.path, sw.code(), time.Since(start)) }()

		if rt.access != public {
			actor, err := s.authenticateThrottled(r)
			if err != nil {
				s.fail(sw, r, err)
				return
			}
			info.actor = actor
			info.who = actor.Name
			// This call's lists may use the revision its token was
			// read at (see domain.FreshCall).
			r = r.WithContext(domain.FreshCall(r.Context(), actor))
		} else if rt.path == "/v1/join" {
			info.who = "join"
		}
		if recordable && info.who != "" {
			defer s.recordAction(r, sw, info, start)
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("api handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.fail(sw, r, errors.New("panic in handler"))
			}
		}()
		if err := rt.h(sw, r); err != nil {
			s.fail(sw, r, err)
		}
	})
}

// reqInfo travels with a request so the action recorder learns what the
// handler did.
type reqInfo struct {
	actor  domain.Actor // who calls, for the domain layer
	note   domain.Note  // what the domain layer noted for the action
	who    string
	kind   string
	object string
	err    string
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// actorOf is the actor a request calls the domain layer as (the zero
// Actor, read-only, on public routes).
func actorOf(r *http.Request) domain.Actor { return infoOf(r).actor }

// statusWriter remembers the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets streaming handlers and promhttp flush through the wrapper.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) started() bool { return w.status != 0 }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
