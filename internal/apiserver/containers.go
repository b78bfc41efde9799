package apiserver

import (
	"net/http"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// listContainers serves GET /v1/containers?service=<id or name>&node=<id>.
func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := s.d.ListContainers(r.Context(), actorOf(r), q.Get("service"), q.Get("node"), domain.Page{Limit: p.limit, After: p.after})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) getContainer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.d.GetContainer(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// execContainer serves POST /v1/containers/{id}/exec {"cmd":[...]} (admin
// tokens only): the command's combined output and exit code.
func (s *Server) execContainer(w http.ResponseWriter, r *http.Request) error {
	var req api.ExecRequest
	if err := s.decode(w, r, &req, false); err != nil {
		return err
	}
	res, err := s.d.Exec(r.Context(), actorOf(r), r.PathValue("id"), req.Cmd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
