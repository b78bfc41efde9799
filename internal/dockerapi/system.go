package dockerapi

import (
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// systemRoutes serves the calls a client makes before any other: the ping
// that negotiates the version, /version, /info and /events.
func (s *Server) systemRoutes() {
	s.handle("GET /_ping", s.ping)
	s.handle("HEAD /_ping", s.ping)
	s.handle("GET /version", s.versionInfo)
	s.handle("GET /plugins/{name...}", noSuchPlugin)
	s.infoRoutes()
}

// ping answers as the daemon does: OK, with the newest API version in the
// Api-Version header (set by Handler) for the client to negotiate down to.
func (s *Server) ping(w http.ResponseWriter, r *http.Request, _ domain.Actor) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Pragma", "no-cache")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	_, err := w.Write([]byte("OK"))
	return err
}

// noSuchPlugin answers a plugin's inspect: Wharf manages none, so every
// plugin is not found (docker inspect tries plugins last, and prints "No
// such object" only when every kind answered not found).
func noSuchPlugin(_ http.ResponseWriter, r *http.Request, _ domain.Actor) error {
	name := strings.TrimSuffix(r.PathValue("name"), "/json")
	return errdefs.New(errdefs.ErrNotFound, "plugin \""+name+"\" not found: Wharf manages no plugins (they are each node's engine's)")
}

// versionInfo is /version: Wharf's build as the engine's.
func (s *Server) versionInfo(w http.ResponseWriter, _ *http.Request, _ domain.Actor) error {
	v := system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "Wharf"},
		Version:       s.version(),
		APIVersion:    MaxAPIVersion,
		MinAPIVersion: MinAPIVersion,
		GitCommit:     s.cfg.Version.Commit,
		GoVersion:     runtime.Version(),
		Os:            "linux",
		Arch:          runtime.GOARCH,
		Components: []system.ComponentVersion{{
			Name: "Wharf", Version: s.version(),
			Details: map[string]string{"ApiVersion": MaxAPIVersion, "MinAPIVersion": MinAPIVersion, "GitCommit": s.cfg.Version.Commit, "Os": "linux", "Arch": runtime.GOARCH},
		}},
	}
	return writeJSON(w, http.StatusOK, v)
}

// dockerTime formats t as Docker does in JSON strings.
func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
