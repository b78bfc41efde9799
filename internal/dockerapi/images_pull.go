package dockerapi

// docker pull and docker rmi.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// pullMessage is one line of Docker's JSON progress stream.
type pullMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
}

// imagePull is POST /images/create?fromImage=&tag= (docker pull): the
// image's tag is resolved to its digest in its registry, as a service of
// it would be pinned, with the organization's credential; nothing is
// copied onto the nodes now: each node pulls the digest when a container
// of it is placed there. Imports (fromSrc) are refused.
func (s *Server) imagePull(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	q := r.URL.Query()
	if q.Get("fromSrc") != "" {
		return errdefs.New(errdefs.ErrNotImplemented, "Wharf's Docker endpoint does not import images (docker import): push the image to the built-in registry instead (`docker push`, or `wharf build`)")
	}
	from, tag := q.Get("fromImage"), q.Get("tag")
	if from == "" {
		return errdefs.Invalid("fromImage", "name the image to pull: POST /images/create?fromImage=IMAGE&tag=TAG")
	}
	ref := from
	repo, refTag, dgst := splitImageRef(from)
	switch {
	case strings.HasPrefix(tag, "sha256:"):
		ref, refTag, dgst = repo+"@"+tag, "", tag
	case tag != "" && dgst == "":
		ref, refTag = repo+":"+tag, tag
	case dgst == "" && !strings.HasSuffix(from, ":"+refTag):
		ref = repo + ":" + refTag
	}
	d, err := s.d.ResolveImage(r.Context(), a, ref)
	if err != nil {
		return err
	}
	dgst = d
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	id := refTag
	if id == "" {
		id = dgst
	}
	for _, m := range []pullMessage{
		{Status: "Pulling from " + repo, ID: id},
		{Status: "Digest: " + dgst},
		{Status: "Status: Image is up to date for " + ref + " (resolved by Wharf: each node pulls " + repo + "@" + dgst + " when a container of it is placed there)"},
	} {
		if err := enc.Encode(m); err != nil {
			return nil // the client went away
		}
	}
	return nil
}

// removed is one line of DELETE /images/{name}'s answer.
type removed struct {
	Untagged string `json:",omitempty"`
	Deleted  string `json:",omitempty"`
}

// imageRemove is DELETE /images/{name} (docker rmi): a tag or digest of
// the built-in registry is removed from it (domain.RemoveImage: registry
// admin); any other image is refused, naming what to use.
func (s *Server) imageRemove(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	name := strings.TrimPrefix(r.URL.Path, "/images/")
	if name == "" || strings.HasSuffix(name, "/") {
		return errdefs.Invalid("name", "name the image to remove: DELETE /images/NAME")
	}
	rows, host, err := s.knownImages(r.Context(), a)
	if err != nil {
		return err
	}
	found := findImage(rows, name)
	if len(found) == 0 {
		return errdefs.New(errdefs.ErrNotFound, "No such image: "+name)
	}
	var reg []imageRow
	for _, row := range found {
		if row.registry {
			reg = append(reg, row)
		}
	}
	if len(reg) == 0 {
		return errdefs.New(errdefs.ErrNotImplemented, "image "+name+" is not in Wharf's built-in registry: Wharf does not remove images from its nodes' engines (each node's engine keeps what it pulled; prune there); `wharf image rm` removes the built-in registry's images")
	}
	var out []removed
	repo, tag, dgst := splitImageRef(name)
	switch {
	case dgst == "" && familiar(repo) == familiar(reg[0].repo) && reg[0].tag == tag:
		// One tag: the manifest goes too when no other tag points at it.
		row := reg[0]
		if err := s.d.RemoveImage(r.Context(), a, strings.TrimPrefix(row.repo, host+"/")+":"+tag); err != nil {
			return err
		}
		out = append(out, removed{Untagged: row.repo + ":" + tag})
	default:
		// By digest or ID: the manifest with every tag of it.
		repos := map[string]bool{}
		for _, row := range reg {
			repos[row.repo] = true
		}
		if len(repos) > 1 && r.URL.Query().Get("force") != "1" && r.URL.Query().Get("force") != "true" {
			return errdefs.New(errdefs.ErrConflict, "conflict: unable to delete "+name+" (must be forced) - image is referenced in multiple repositories")
		}
		for rp := range repos {
			if err := s.d.RemoveImage(r.Context(), a, strings.TrimPrefix(rp, host+"/")+"@"+reg[0].digest); err != nil {
				return err
			}
		}
		for _, row := range reg {
			if row.tag != "" {
				out = append(out, removed{Untagged: row.repo + ":" + row.tag})
			}
		}
		out = append(out, removed{Untagged: reg[0].repo + "@" + reg[0].digest}, removed{Deleted: reg[0].digest})
	}
	return writeJSON(w, http.StatusOK, out)
}

// createPullPolicy is the pull policy of a container a client creates
// with image: an image of the built-in registry is pinned to its digest
// and pulled by the node it is placed on (the default policy), which is
// what `docker pull` of it promised; any other keeps policy (the
// daemon's create pulls nothing: the node runs the image it has).
func (s *Server) createPullPolicy(ctx context.Context, a domain.Actor, image, policy string) string {
	info, err := s.d.RegistryInfo(ctx, a)
	if err != nil || info.Host == "" || api.RegistryHost(image) != api.NormalizeRegistryHost(info.Host) {
		return policy
	}
	return ""
}
