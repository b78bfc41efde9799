package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// A stand-in for GET /containers/{id}/json, registered only when the
// container routes (containers.go) do not serve it: the docker CLI
// inspects a container before logs, exec, attach and top, and reads no
// more than its state and whether it has a terminal.
func (s *Server) inspectFallback() {
	r, _ := http.NewRequest(http.MethodGet, "/containers/x/json", nil)
	if _, pattern := s.mux.Handler(r); pattern != "/" && pattern != "" {
		return // the container routes serve it
	}
	s.handle("GET /containers/{id}/json", s.minimalInspect)
}

func (s *Server) minimalInspect(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	c, err := s.container(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	running := c.Status.State == api.ContainerRunning
	st := container.StateExited
	if running {
		st = container.StateRunning
	}
	return writeJSON(w, http.StatusOK, container.InspectResponse{
		ID: c.ID, Name: "/" + c.Name,
		State:  &container.State{Status: st, Running: running},
		Config: &container.Config{AttachStdout: true, AttachStderr: true},
	})
}
