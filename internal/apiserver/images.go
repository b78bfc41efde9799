package apiserver

import (
	"net/http"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// The built-in registry's REST routes: where it is, and its images
// (thin handlers over the domain's image operations).

func (s *Server) registryInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := s.d.RegistryInfo(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) error {
	list, err := s.d.ListImages(r.Context(), actorOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// removeImage is DELETE /v1/images?ref=<org>/<repo>:<tag> (or @<digest>):
// a reference holds slashes, so it is a query parameter.
func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) error {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		return errdefs.Invalid("ref", "name the image: ?ref=<org>/<repository>:<tag> or ?ref=<org>/<repository>@<digest>")
	}
	infoOf(r).object = ref
	if err := s.d.RemoveImage(r.Context(), actorOf(r), ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// collectImageGarbage is POST /v1/images/gc[?untagged=1].
func (s *Server) collectImageGarbage(w http.ResponseWriter, r *http.Request) error {
	untagged, err := boolParam(r, "untagged")
	if err != nil {
		return err
	}
	res, err := s.d.CollectImageGarbage(r.Context(), actorOf(r), untagged)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// boolParam reads a 1/0 (true/false) query parameter; absent is false.
func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, errdefs.Invalid(name, "want 1 or 0, got %q", v)
	}
}
