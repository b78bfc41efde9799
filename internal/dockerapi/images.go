package dockerapi

// Images as a Docker client sees them through Wharf. Wharf keeps no
// engine's image store: the images it knows are the built-in registry's
// (of the actor's organization) and those its services run; an image
// elsewhere is known once its registry resolves its digest. `docker pull`
// resolves and checks (the nodes pull when a container is placed there);
// `docker rmi` removes a built-in registry's tag. See docs/docker-api.md,
// "Images, networks and volumes".

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/image"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// imageRoutes serves images, inspect, pull and rmi. An image's name holds
// '/' and ':', so inspect and rmi match a prefix and parse the rest.
func (s *Server) imageRoutes() {
	s.handle("GET /images/json", s.imageList)
	s.handle("POST /images/create", s.imagePull)
	s.handle("GET /images/", s.imageGet)
	s.handle("DELETE /images/", s.imageRemove)
	s.handle("POST /images/", s.imageRefused)
}

// imageRow is one image reference Wharf knows.
type imageRow struct {
	repo     string // as Docker shows it: "<registry host>/<org>/<name>" for the built-in registry's
	tag      string // "" for an untagged manifest or a reference by digest
	digest   string // the manifest's "sha256:...", "" when only the name is known
	size     int64
	registry bool     // in the built-in registry
	services []string // the services that run it
}

// id is the image's ID as Docker clients show it: its manifest digest, or
// for an image Wharf knows only by name (a service's image that is not
// pinned, such as one of pull policy never) a digest of that name.
func (r imageRow) id() string {
	if r.digest != "" {
		return r.digest
	}
	sum := sha256.Sum256([]byte("wharf image name " + r.repo + ":" + r.tag))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// splitImageRef splits a Docker image reference into repository, tag and
// digest; a reference with neither tag nor digest has the tag "latest".
func splitImageRef(ref string) (repo, tag, digest string) {
	if r, d, ok := strings.Cut(ref, "@"); ok {
		repo, digest = r, d
		if i := strings.LastIndex(repo, ":"); i >= 0 && !strings.Contains(repo[i:], "/") {
			repo = repo[:i]
		}
		return repo, "", digest
	}
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		return ref[:i], ref[i+1:], ""
	}
	return ref, "latest", ""
}

// familiar is a repository's short name on Docker Hub ("docker.io/library/x"
// is "x"), so that both spellings match.
func familiar(repo string) string {
	r := strings.TrimPrefix(strings.TrimPrefix(repo, "index.docker.io/"), "docker.io/")
	if rest, ok := strings.CutPrefix(r, "library/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return r
}

// permitted tells whether err only says the actor may not see, or the
// server has not, what a list would add: such a part is left out.
func permitted(err error) bool {
	return err == nil || !errors.Is(err, errdefs.ErrForbidden) && !errors.Is(err, errdefs.ErrUnavailable)
}

// knownImages lists the built-in registry's images of the actor's
// organization and the images of its services (those the actor may see),
// and the registry's host ("" without one).
func (s *Server) knownImages(ctx context.Context, a domain.Actor) ([]imageRow, string, error) {
	var rows []imageRow
	host := ""
	info, err := s.d.RegistryInfo(ctx, a)
	if !permitted(err) {
		return nil, "", err
	}
	if err == nil {
		host = info.Host
		l, err := s.d.ListImages(ctx, a)
		if !permitted(err) {
			return nil, "", err
		}
		for _, im := range l.Items {
			rows = append(rows, imageRow{repo: host + "/" + im.Repository, tag: im.Tag, digest: im.Digest, size: im.Size, registry: true})
		}
	}
	svcs, err := s.knownServices(ctx, a)
	if !permitted(err) {
		return nil, "", err
	}
	for _, svc := range svcs {
		if svc.Spec.Image == "" {
			continue
		}
		repo, tag, dgst := splitImageRef(svc.Spec.Image)
		if _, d, ok := strings.Cut(svc.ResolvedImage, "@"); ok && dgst == "" {
			dgst = d
		}
		i := slices.IndexFunc(rows, func(r imageRow) bool {
			return familiar(r.repo) == familiar(repo) && (r.tag == tag && tag != "" && (dgst == "" || r.digest == dgst) || tag == "" && r.digest == dgst)
		})
		if i < 0 {
			rows = append(rows, imageRow{repo: repo, tag: tag, digest: dgst})
			i = len(rows) - 1
		}
		rows[i].services = append(rows[i].services, svc.Name)
	}
	return rows, host, nil
}

// imageList is GET /images/json: the known images, one per ID, with their
// tags and digests.
func (s *Server) imageList(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	rows, _, err := s.knownImages(r.Context(), a)
	if err != nil {
		return err
	}
	out := []image.Summary{}
	index := map[string]int{}
	for _, row := range rows {
		id := row.id()
		i, ok := index[id]
		if !ok {
			out = append(out, image.Summary{ID: id, Containers: -1, SharedSize: -1, Size: row.size, RepoTags: []string{}, RepoDigests: []string{}, Labels: map[string]string{}})
			i = len(out) - 1
			index[id] = i
		}
		addImageNames(&out[i].RepoTags, &out[i].RepoDigests, row)
	}
	return writeJSON(w, http.StatusOK, out)
}

// addImageNames adds row's "repo:tag" and "repo@digest" to tags and digests.
func addImageNames(tags, digests *[]string, row imageRow) {
	if row.tag != "" && !slices.Contains(*tags, row.repo+":"+row.tag) {
		*tags = append(*tags, row.repo+":"+row.tag)
	}
	if row.digest != "" && !slices.Contains(*digests, row.repo+"@"+row.digest) {
		*digests = append(*digests, row.repo+"@"+row.digest)
	}
}

// findImage finds the rows of the image ref names: by reference first,
// then by (a prefix of) its ID, as the engine does. It returns every row
// of that ID.
func findImage(rows []imageRow, ref string) []imageRow {
	repo, tag, dgst := splitImageRef(ref)
	id := ""
	for _, r := range rows {
		if familiar(r.repo) == familiar(repo) && (dgst != "" && r.digest == dgst || dgst == "" && r.tag == tag) {
			id = r.id()
			break
		}
	}
	if hex := strings.TrimPrefix(ref, "sha256:"); id == "" && len(hex) >= 4 && strings.Trim(hex, "0123456789abcdef") == "" {
		for _, r := range rows {
			if strings.HasPrefix(strings.TrimPrefix(r.id(), "sha256:"), hex) {
				if id != "" && id != r.id() {
					return nil // ambiguous: the engine says no such image too
				}
				id = r.id()
			}
		}
	}
	var out []imageRow
	for _, r := range rows {
		if id != "" && r.id() == id {
			out = append(out, r)
		}
	}
	return out
}

// imageInspect is an image as GET /images/{name}/json shows it: the fields
// clients read (docker-compose reads Id, and ContainerConfig when it
// recreates a container). Wharf keeps no image config, so Config is
// empty.
type imageInspect struct {
	ID              string            `json:"Id"`
	RepoTags        []string          `json:"RepoTags"`
	RepoDigests     []string          `json:"RepoDigests"`
	Parent          string            `json:"Parent"`
	Comment         string            `json:"Comment"`
	Created         string            `json:"Created,omitempty"`
	Container       string            `json:"Container,omitempty"`
	ContainerConfig *emptyConfig      `json:"ContainerConfig,omitempty"`
	DockerVersion   string            `json:"DockerVersion"`
	Author          string            `json:"Author"`
	Config          emptyConfig       `json:"Config"`
	Architecture    string            `json:"Architecture"`
	Os              string            `json:"Os"`
	Size            int64             `json:"Size"`
	VirtualSize     *int64            `json:"VirtualSize,omitempty"`
	GraphDriver     map[string]any    `json:"GraphDriver"`
	RootFS          map[string]string `json:"RootFS"`
	Metadata        map[string]string `json:"Metadata"`
}

// emptyConfig is an image config with nothing known.
type emptyConfig struct {
	Labels  map[string]string `json:"Labels"`
	Volumes map[string]any    `json:"Volumes"`
}

// imageGet serves GET /images/{name}/json; other GETs under /images/ (history,
// get) are refused.
func (s *Server) imageGet(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/images/"), "/json")
	if !ok || name == "" {
		return s.imageRefused(w, r, a)
	}
	rows, _, err := s.knownImages(r.Context(), a)
	if err != nil {
		return err
	}
	found := findImage(rows, name)
	if len(found) == 0 {
		// An image no registry of Wharf's nor service has: known if its
		// registry resolves it.
		dgst, err := s.d.ResolveImage(r.Context(), a, name)
		if err != nil {
			if errors.Is(err, errdefs.ErrForbidden) {
				return err
			}
			return errdefs.New(errdefs.ErrNotFound, "No such image: "+name+" (Wharf knows the built-in registry's images, its services' and those a registry resolves; `docker images` lists them)")
		}
		repo, tag, _ := splitImageRef(name)
		found = []imageRow{{repo: repo, tag: tag, digest: dgst}}
	}
	v := imageInspect{ID: found[0].id(), RepoTags: []string{}, RepoDigests: []string{}, Architecture: runtime.GOARCH, Os: "linux",
		GraphDriver: map[string]any{"Name": "", "Data": nil}, RootFS: map[string]string{"Type": "layers"}, Metadata: map[string]string{"LastTagTime": "0001-01-01T00:00:00Z"}}
	for _, row := range found {
		addImageNames(&v.RepoTags, &v.RepoDigests, row)
		v.Size = max(v.Size, row.size)
	}
	if versionLess(requestVersion(r), "1.45") {
		v.ContainerConfig = &emptyConfig{}
	}
	if versionLess(requestVersion(r), "1.44") {
		v.VirtualSize = &v.Size
	}
	return writeJSON(w, http.StatusOK, v)
}

// imageRefused refuses the image calls not served: tag, push, history,
// save, load, import, search, prune.
func (s *Server) imageRefused(_ http.ResponseWriter, r *http.Request, _ domain.Actor) error {
	return errdefs.New(errdefs.ErrNotImplemented, "Wharf's Docker endpoint does not serve "+r.Method+" "+r.URL.Path+
		": images go into the built-in registry with `docker push` to it (or `wharf build`), and `wharf image ls` lists them")
}
