// Package ui serves Wharf's web dashboard at /ui on the API listener:
// server-rendered pages (html/template, embedded with go:embed) that work
// without JavaScript, a small script of Wharf's own that refreshes them
// from a server-sent event stream, and forms for the actions a user may
// take. Every page and action calls the one domain layer as the signed-in
// user's domain.Actor, re-authenticated from the session cookie on every
// request, so the dashboard sees and does exactly what the REST API would
// let the same token see and do.
//
// The files: auth.go (sign-in, session cookie, organization, sign-out),
// csrf.go (forged-request defences and security headers), pages.go and
// actions.go (what each page shows and each form does), node_actions.go
// (node labels, availability and removal), audit.go (the audit trail),
// events_page.go (the events page and its filter), stack_deploy.go (stack
// deploys from a compose file, with their plan, and stack removal), sse.go
// (the live event stream), templates.go (rendering and the error page),
// credentials.go (making tokens, setting secrets), accounts.go
// (organizations and teams), images.go (the built-in registry's images).
package ui

import (
	"context"
	"crypto/rand"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/throttle"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the dashboard needs. Only Domain is required.
type Config struct {
	Domain *domain.Domain
	// Throttle counts failed sign-ins and wrong session cookies per source
	// address, the same table the REST API counts wrong tokens in (a new
	// one with throttle's defaults when nil).
	Throttle *throttle.Limiter
	// CSRFKey keys the per-session form tokens (32 random bytes when nil:
	// forms rendered before a restart are then refused after it).
	CSRFKey []byte
	// Insecure is set when the server serves plain HTTP (allowed on a
	// loopback address only): the session cookie then lacks the Secure
	// flag, which a browser would refuse over http://127.0.0.1.
	Insecure bool
	Logger   *slog.Logger
	// Heartbeat is how often an idle event stream sends a comment and
	// re-authenticates its session (default 15s).
	Heartbeat time.Duration
}

// Handler is the dashboard. Make it with New; serve it at /ui/.
type Handler struct {
	cfg  Config
	d    *domain.Domain
	log  *slog.Logger
	mux  *http.ServeMux
	tmpl *templates
	// stop ends every open event stream when the server shuts down.
	stopOnce sync.Once
	stopCtx  context.Context
	stop     context.CancelFunc
}

// New builds the dashboard's routes and parses its templates.
func New(cfg Config) (*Handler, error) {
	if cfg.Domain == nil {
		return nil, errNoDomain
	}
	if cfg.Throttle == nil {
		cfg.Throttle = throttle.New(throttle.Config{})
	}
	if len(cfg.CSRFKey) == 0 {
		cfg.CSRFKey = make([]byte, 32)
		_, _ = rand.Read(cfg.CSRFKey)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{cfg: cfg, d: cfg.Domain, log: cfg.Logger, mux: http.NewServeMux(), tmpl: t, stopCtx: ctx, stop: cancel}
	h.routes()
	return h, nil
}

// Close ends the open event streams (call it when shutdown begins, so
// that draining waits only for ordinary requests).
func (h *Handler) Close() { h.stopOnce.Do(h.stop) }

func (h *Handler) routes() {
	static, _ := fs.Sub(staticFS, "static")
	h.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))

	h.mux.HandleFunc("GET /ui/login", h.loginForm)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("GET "+api.SignInCodePath, h.codeForm)
	h.mux.HandleFunc("POST "+api.SignInCodePath, h.redeemCode)

	// Everything else needs a session.
	page := func(p string, f pageFunc) { h.mux.Handle(p, h.signedIn(f)) }
	page("GET /ui/{$}", h.overview)
	page("GET /ui/services", h.services)
	page("GET /ui/services/{id}", h.service)
	page("GET /ui/services/{id}/remove", h.confirmRemove)
	page("GET /ui/services/{id}/edit", h.editService)
	page("GET /ui/services/{id}/logs", h.logs)
	page("GET /ui/services/{id}/logs/stream", h.followLogs)
	page("GET /ui/containers/{id}/logs", h.logs)
	page("GET /ui/containers/{id}/logs/stream", h.followLogs)
	page("GET /ui/containers/{id}", h.container)
	page("GET /ui/nodes", h.nodes)
	page("GET /ui/nodes/{id}", h.node)
	page("GET /ui/stacks", h.stacks)
	page("GET /ui/stacks/{id}", h.stack)
	page("GET /ui/stacks/{id}/remove", h.confirmRemoveStack)
	page("GET /ui/events", h.events)
	page("GET /ui/tokens", h.tokens)
	page("GET /ui/tokens/{id}/delete", h.confirmDeleteToken)
	page("GET /ui/secrets", h.secrets)
	h.pagesRoutes(page) // credentials.go, accounts.go, images.go
	page("GET /ui/audit", h.audit)
	page("GET /ui/nodes/{id}/remove", h.confirmRemoveNode)
	h.mux.Handle("GET /ui/stream", h.signedInStream())

	page("POST /ui/logout", h.logout)
	page("POST /ui/org", h.switchOrg)
	page("POST /ui/services/{id}/scale", h.scale)
	page("POST /ui/services/{id}/stop", h.stopService)
	page("POST /ui/services/{id}/start", h.startService)
	page("POST /ui/services/{id}/redeploy", h.redeploy)
	page("POST /ui/services/{id}/remove", h.remove)
	page("POST /ui/services/{id}/edit", h.updateService)
	page("POST /ui/containers/{id}/exec", h.exec)
	page("POST /ui/nodes/join-token", h.joinToken)
	page("POST /ui/tokens/{id}/delete", h.deleteToken)
	page("POST /ui/nodes/{id}/labels", h.labelNode)
	page("POST /ui/nodes/{id}/remove", h.removeNode)
	h.mux.Handle("POST /ui/stacks/plan", h.signedInLimit(h.planStack, maxComposeForm))
	h.mux.Handle("POST /ui/stacks/apply", h.signedInLimit(h.applyStack, maxComposeForm))
	page("POST /ui/stacks/{id}/remove", h.removeStack)
	page("POST /ui/nodes/{id}/availability", h.setNodeAvailability)

	h.mux.HandleFunc("/ui/", h.notFound)
}

// ServeHTTP serves a request under /ui with the security headers every
// answer carries, refusing a cross-site state-changing request first.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w.Header())
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	if err := crossOrigin.Check(r); err != nil {
		h.fail(w, r, nil, errCrossSite)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// contextUntil is the request's context, also ended when stop ends.
func contextUntil(r *http.Request, stop context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	unwatch := context.AfterFunc(stop, cancel)
	return ctx, func() { unwatch(); cancel() }
}
