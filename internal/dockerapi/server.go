package dockerapi

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// The API versions the endpoint speaks: clients from API 1.24 (Docker 1.12)
// to 1.50 (Docker 28) negotiate within them, as with a Docker daemon.
const (
	MinAPIVersion = "1.24"
	MaxAPIVersion = "1.50"
)

// Config is what the endpoint needs.
type Config struct {
	// Domain is the one domain layer every call goes through.
	Domain *domain.Domain
	// Authenticate makes the actor of a call from its verified client
	// certificate chain (domain.Domain.AuthenticateDockerCert). Tests of
	// handlers may pass their own.
	Authenticate func(ctx context.Context, chain []*x509.Certificate) (domain.Actor, error)
	// Version is the server's build, reported by /version and /info.
	Version api.Version
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is the Docker endpoint's handler. Make it with New.
type Server struct {
	cfg Config
	d   *domain.Domain
	log *slog.Logger
	mux *http.ServeMux
	// ttys are the terminals of the attaches waiting for their container
	// to start (see tty.go).
	ttys pendingTTYs
}

// handlerFunc serves one Docker API call for actor a; an error it returns
// is written in Docker's shape (see writeError).
type handlerFunc func(w http.ResponseWriter, r *http.Request, a domain.Actor) error

// New checks cfg and makes the endpoint.
func New(cfg Config) (*Server, error) {
	if cfg.Domain == nil {
		return nil, errors.New("dockerapi: Config.Domain is required")
	}
	if cfg.Authenticate == nil {
		return nil, errors.New("dockerapi: Config.Authenticate is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, d: cfg.Domain, log: cfg.Logger, mux: http.NewServeMux()}
	s.systemRoutes()
	s.containerRoutes()
	s.streamRoutes()
	s.imageRoutes()
	s.networkRoutes()
	s.volumeRoutes()
	s.mux.Handle("/", s.wrap(notServed))
	return s, nil
}

// handle registers h for pattern (a net/http ServeMux pattern on the path
// without its /vX.Y prefix, such as "GET /containers/{id}/json").
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.Handle(pattern, s.wrap(h))
}

// wrap authenticates the call, writes h's error, and records a changing
// call in the audit trail.
func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var chain []*x509.Certificate
		if r.TLS != nil {
			chain = r.TLS.PeerCertificates
		}
		a, err := s.cfg.Authenticate(r.Context(), chain)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !audited(r.Method) {
			if err := h(w, r, a); err != nil {
				s.writeError(w, r, err)
			}
			return
		}
		// A changing call is recorded in the audit trail (audit.go), with
		// the object the domain layer notes.
		start, note, aw := time.Now(), &domain.Note{}, &auditWriter{ResponseWriter: w}
		r = r.WithContext(domain.Noting(r.Context(), note))
		msg := ""
		if err := h(aw, r, a); err != nil {
			msg = s.writeError(aw, r, err)
		}
		s.record(r, a, aw, note, start, msg)
	})
}

// versionPrefix is the /vX.Y a client puts before every path.
var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// Handler serves the Docker Engine API, versioned (/v1.41/containers/json)
// and unversioned paths alike.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Api-Version", MaxAPIVersion)
		h.Set("Docker-Experimental", "false")
		h.Set("Ostype", "linux")
		h.Set("Server", "Wharf/"+s.version()+" (linux)")
		if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
			if err := checkVersion(m[1]); err != nil {
				s.writeError(w, r, err)
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = m[2]
			r2.URL.RawPath = ""
			r2.Header.Set(apiVersionHeader, m[1])
			r = r2
		}
		if raw := slashedContainerPath(r.Method, r.URL.Path); raw != "" {
			r2 := r.Clone(r.Context())
			r2.URL.RawPath = raw
			r = r2
		}
		s.mux.ServeHTTP(w, r)
	})
}

// apiVersionHeader carries the version a call's path named to handlers
// (see requestVersion); it never comes from the client itself.
const apiVersionHeader = "X-Wharf-Docker-Api-Version"

// requestVersion is the API version of r: its path's, else the newest.
func requestVersion(r *http.Request) string {
	if v := r.Header.Get(apiVersionHeader); v != "" {
		return v
	}
	return MaxAPIVersion
}

// versionLess tells whether API version a is older than b ("1.41" < "1.50").
func versionLess(a, b string) bool {
	am, an := splitVersion(a)
	bm, bn := splitVersion(b)
	if am != bm {
		return am < bm
	}
	return an < bn
}

func splitVersion(v string) (int, int) {
	major, minor, _ := strings.Cut(v, ".")
	m, _ := strconv.Atoi(major)
	n, _ := strconv.Atoi(minor)
	return m, n
}

// checkVersion refuses an API version outside what the endpoint speaks, as
// the Docker daemon does.
func checkVersion(v string) error {
	if versionLess(v, MinAPIVersion) {
		return errdefs.New(errdefs.ErrInvalid, "client version "+v+" is too old. Minimum supported API version is "+MinAPIVersion+", please upgrade your client to a newer version")
	}
	if versionLess(MaxAPIVersion, v) {
		return errdefs.New(errdefs.ErrInvalid, "client version "+v+" is too new. Maximum supported API version is "+MaxAPIVersion)
	}
	return nil
}

func (s *Server) version() string {
	if s.cfg.Version.Version != "" {
		return s.cfg.Version.Version
	}
	return "dev"
}
