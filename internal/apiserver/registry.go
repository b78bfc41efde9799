package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/throttle"
)

// The built-in registry's front door: /v2/... on the API listener. The
// registry itself (internal/registry) has no authentication; this puts
// Wharf's in front of it:
//
//   - users and robots: HTTP Basic auth whose password is an API token
//     (`docker login HOST -u anything -p TOKEN`), through
//     domain.AuthenticateRegistry and the same failure throttle as the
//     REST API's bad tokens;
//   - nodes: the pull credential the server signs for them (Basic auth,
//     user "wharf-node.<id>"), or their node certificate as the TLS
//     client certificate.
//
// The repository's first path element is its organization; the domain
// layer (AuthorizeRegistry) decides what the actor may do there: GET and
// HEAD pull, POST, PUT and PATCH push, DELETE is registry admin. The
// catalog lists the actor's organization's repositories only.

// pushReadTimeout bounds the reading of one authenticated push request
// (a layer's upload).
const pushReadTimeout = time.Hour

// registryRealm is the Basic auth realm the registry challenges with.
const registryRealm = `Basic realm="wharf"`

// RegistryHandler returns next (the registry) behind Wharf's
// authentication and authorization. Mount it at /v2/.
func (s *Server) RegistryHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.metrics.observe(r.Method, "/v2/", sw.code(), time.Since(start)) }()
		info := &reqInfo{kind: "image"}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		// The audit trail gets what changes an image: a manifest pushed
		// or anything deleted (not each layer's upload).
		if r.Method == http.MethodDelete || r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			info.object = strings.Replace(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/", ":", 1)
			defer func() {
				if info.who != "" {
					s.recordAction(r, sw, info, start)
				}
			}()
		}
		if err := s.serveRegistry(sw, r, next); err != nil {
			info.err = err.Error()
			s.registryFail(sw, r, err)
		}
	})
}

func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request, next http.Handler) error {
	// Names are plain path segments: an escaped character would let the
	// registry's router read another path than the one checked here.
	if r.URL.RawPath != "" || !strings.HasPrefix(r.URL.Path, "/v2/") {
		return newErr(errdefs.ErrNotFound, "no such registry path")
	}
	verb, err := registryVerb(r.Method)
	if err != nil {
		return err
	}
	rest := strings.TrimPrefix(r.URL.Path, "/v2/")
	repo, org := "", ""
	switch {
	case rest == "" || rest == "_catalog":
	default:
		org, _, _ = strings.Cut(rest, "/")
		repo = registryRepo(rest)
	}
	a, err := s.registryActor(r, org)
	if err != nil {
		return err
	}
	info := infoOf(r)
	info.actor, info.who = a, a.Name
	if verb == domain.RegistryPush {
		// A layer is one request body of any size: the listener's read
		// timeout (made for 1 MiB API bodies) would cut a push on a
		// slow link. An authenticated pusher gets up to pushReadTimeout
		// per request; anyone else stays under the listener's bound.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(pushReadTimeout))
	}
	if err := s.d.AuthorizeRegistry(r.Context(), a, repo, verb); err != nil {
		return err
	}
	if q := r.URL.Query(); q.Get("from") != "" && verb == domain.RegistryPush {
		// A cross-repository blob mount reads the blob from another
		// repository: only from one the actor may pull from. Otherwise
		// the mount is dropped and the registry starts an ordinary upload
		// (202), as it does for a blob the source lacks, so clients fall
		// back to uploading.
		if s.d.AuthorizeRegistry(r.Context(), a, q.Get("from"), domain.RegistryPull) != nil {
			q.Del("from")
			q.Del("mount")
			r.URL.RawQuery = q.Encode()
		}
	}
	if rest == "_catalog" {
		if verb != domain.RegistryPull {
			return newErr(errMethod, "method %s is not allowed on the catalog", r.Method)
		}
		repos, err := s.d.RegistryCatalog(r.Context(), a)
		if err != nil {
			return err
		}
		if repos == nil {
			repos = []string{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		return json.NewEncoder(w).Encode(map[string][]string{"repositories": repos})
	}
	next.ServeHTTP(w, r)
	return nil
}

// registryVerb is what a method does to a repository.
func registryVerb(method string) (domain.Verb, error) {
	switch method {
	case http.MethodGet, http.MethodHead:
		return domain.RegistryPull, nil
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return domain.RegistryPush, nil
	case http.MethodDelete:
		return domain.RegistryAdmin, nil
	}
	return "", newErr(errMethod, "method %s is not allowed on the registry", method)
}

// registryRepo is the repository name in a registry path (after /v2/):
// everything before its route's own part. Only its first element (the
// organization) decides anything; the rest is for messages.
func registryRepo(rest string) string {
	for _, sep := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.Index(rest, sep); i > 0 {
			return rest[:i]
		}
	}
	return strings.TrimSuffix(rest, "/")
}

// registryActor authenticates a registry request in organization org:
// Basic auth (or an API token as a Bearer, as the API takes it) when the
// request has an Authorization header, else a node certificate, else a
// challenge. Wrong Basic credentials count against
// the source in the failure throttle, as wrong API tokens do.
func (s *Server) registryActor(r *http.Request, org string) (domain.Actor, error) {
	src := throttle.Source(r.RemoteAddr)
	if wait, blocked := s.cfg.Throttle.Blocked(src); blocked {
		return domain.Actor{}, tooManyFailures(wait, "authentications")
	}
	if r.Header.Get("Authorization") == "" {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			return s.d.AuthenticateNodeCert(r.Context(), r.TLS.PeerCertificates)
		}
		return domain.Actor{}, newErr(errdefs.ErrUnauthorized, "authentication required: `docker login` with a Wharf API token as the password")
	}
	user, pass, ok := r.BasicAuth()
	var a domain.Actor
	var err error
	switch bearer, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); {
	case ok:
		a, err = s.d.AuthenticateRegistry(r.Context(), user, pass, org)
	case isBearer:
		// An API token as the API takes it (curl, scripts).
		a, err = s.d.Authenticate(r.Context(), strings.TrimSpace(bearer), org)
	default:
		// Another scheme guesses nothing: refused, not counted.
		return domain.Actor{}, newErr(errdefs.ErrUnauthorized, "the registry takes HTTP Basic auth: `docker login` with a Wharf API token as the password")
	}
	if err != nil && errors.Is(err, errdefs.ErrUnauthorized) {
		if wait := s.cfg.Throttle.Fail(src); wait > 0 {
			s.log.Warn("refusing an address that sent too many wrong registry credentials", "source", src, "for", wait)
		}
	}
	return a, err
}

// registryFail answers err in the registry API's error format, which the
// docker CLI shows.
func (s *Server) registryFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "UNKNOWN"
	msg := err.Error()
	switch {
	case errors.Is(err, errdefs.ErrUnauthorized):
		status, code = http.StatusUnauthorized, "UNAUTHORIZED"
		w.Header().Set("WWW-Authenticate", registryRealm)
	case errors.Is(err, errdefs.ErrForbidden):
		status, code = http.StatusForbidden, "DENIED"
	case errors.Is(err, errdefs.ErrNotFound):
		status, code = http.StatusNotFound, "NAME_UNKNOWN"
	case errors.Is(err, errdefs.ErrInvalid):
		status, code = http.StatusBadRequest, "NAME_INVALID"
	case errors.Is(err, errMethod):
		status, code = http.StatusMethodNotAllowed, "UNSUPPORTED"
	case errors.Is(err, errdefs.ErrTooManyRequests):
		status, code = http.StatusTooManyRequests, "TOOMANYREQUESTS"
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	case errors.Is(err, errdefs.ErrUnavailable):
		status, code = http.StatusServiceUnavailable, "UNAVAILABLE"
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	default:
		s.log.Error("registry request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
