package apiserver

import (
	"context"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/internal/errdefs"
)

func (s *Server) livez(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

// readyz is 200 when the server can serve: cfg.Ready says so, or, without
// it, etcd answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var err error
	if s.cfg.Ready != nil {
		err = s.cfg.Ready(ctx)
	} else {
		_, err = s.st.Client().Get(ctx, "/wharf-readyz-probe")
	}
	if err != nil {
		return newErr(errdefs.ErrUnavailable, "not ready: %v", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.cfg.Version)
	return nil
}
