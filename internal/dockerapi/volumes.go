package dockerapi

// Named volumes as Docker's. Wharf keeps no volume objects: a service's
// named volume is made by the engine of each node that runs one of its
// containers, per slot ("<service>-<slot>-<name>"). So the volumes listed
// are the names the organization's services mount, with where their
// per-slot volumes are; `docker volume create` checks and accepts a name
// (the volume is made where a container mounts it); removing one refuses
// while a service mounts it. See docs/docker-api.md, "Images, networks
// and volumes".

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/volume"
	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// volumeRoutes serves volume ls, create, inspect and rm.
func (s *Server) volumeRoutes() {
	s.handle("GET /volumes", s.volumeList)
	s.handle("POST /volumes/create", s.volumeCreate)
	s.handle("GET /volumes/{name}", s.volumeInspect)
	s.handle("DELETE /volumes/{name}", s.volumeRemove)
	s.handle("POST /volumes/prune", s.volumePruneRefused)
}

// knownVolumes are the named volumes the organization's services mount,
// by name, each with its services and the per-slot volumes of their
// containers ("<node ID>/<volume>").
func (s *Server) knownVolumes(ctx context.Context, a domain.Actor) ([]volume.Volume, error) {
	svcs, err := s.knownServices(ctx, a)
	if err != nil {
		return nil, err
	}
	cts, err := s.knownContainers(ctx, a)
	if err != nil {
		return nil, err
	}
	byName := map[string]*volume.Volume{}
	var names []string
	for _, svc := range svcs {
		for _, v := range svc.Spec.Volumes {
			if v.Type != api.VolumeNamed || v.Source == "" {
				continue
			}
			vol, ok := byName[v.Source]
			if !ok {
				vol = &volume.Volume{Name: v.Source, Driver: "local", Scope: "local", Labels: map[string]string{}, Options: map[string]string{},
					Status: map[string]any{"Services": []string{}, "OnNodes": []string{}}}
				byName[v.Source] = vol
				names = append(names, v.Source)
			}
			vol.Status["Services"] = appendNew(vol.Status["Services"].([]string), svc.Name)
			for _, ct := range cts {
				if ct.Spec.Service != svc.ID || ct.Spec.Node == "" {
					continue
				}
				for _, cv := range ct.Spec.Volumes {
					if cv.Type == api.VolumeNamed && cv.Target == v.Target {
						vol.Status["OnNodes"] = appendNew(vol.Status["OnNodes"].([]string), ct.Spec.Node+"/"+cv.Source)
					}
				}
			}
		}
	}
	slices.Sort(names)
	out := make([]volume.Volume, 0, len(names))
	for _, n := range names {
		out = append(out, *byName[n])
	}
	return out, nil
}

func appendNew(l []string, v string) []string {
	if slices.Contains(l, v) {
		return l
	}
	return append(l, v)
}

// volumeList is GET /volumes (docker volume ls), with the name, driver
// and dangling filters; a label filter matches none (Wharf keeps no
// volume labels).
func (s *Server) volumeList(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	filters, err := parseListFilters(r)
	if err != nil {
		return err
	}
	vols, err := s.knownVolumes(r.Context(), a)
	if err != nil {
		return err
	}
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range vols {
		ok := true
		for _, n := range filters["name"] {
			ok = ok && strings.Contains(v.Name, n)
		}
		for _, d := range filters["driver"] {
			ok = ok && d == v.Driver
		}
		for _, d := range filters["dangling"] {
			ok = ok && (d == "false" || d == "0")
		}
		if len(filters["label"]) > 0 {
			ok = false
		}
		if ok {
			out.Volumes = append(out.Volumes, v)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// volumeInspect is GET /volumes/{name}: a volume a service mounts.
func (s *Server) volumeInspect(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	v, err := s.volume(r.Context(), a, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// volume finds a volume a service mounts.
func (s *Server) volume(ctx context.Context, a domain.Actor, name string) (*volume.Volume, error) {
	vols, err := s.knownVolumes(ctx, a)
	if err != nil {
		return nil, err
	}
	for i := range vols {
		if vols[i].Name == name {
			return &vols[i], nil
		}
	}
	return nil, errdefs.New(errdefs.ErrNotFound, "get "+name+": no such volume (Wharf lists the named volumes its services mount)")
}

// volumeCreate is POST /volumes/create: the name is checked (and the
// actor's right to deploy what would mount it), and answered as a local
// volume; nothing is made now. Each node's engine makes it, per slot,
// when a container that mounts it is placed there. Drivers other than
// local and driver options are refused.
func (s *Server) volumeCreate(w http.ResponseWriter, r *http.Request, a domain.Actor) error {
	var req volume.CreateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		return errdefs.Invalid("body", "the volume to create is not JSON: %v", err)
	}
	if req.Name == "" {
		return errdefs.Invalid("Name", "name the volume: docker volume create NAME (Wharf makes no anonymous volumes)")
	}
	if req.Driver != "" && req.Driver != "local" {
		return errdefs.Invalid("Driver", "volume %s: Wharf's named volumes are the nodes' local volumes; driver %s cannot be used", req.Name, req.Driver)
	}
	if len(req.DriverOpts) > 0 || req.ClusterVolumeSpec != nil {
		return errdefs.Invalid("DriverOpts", "volume %s: Wharf's named volumes take no driver options and are no cluster volumes", req.Name)
	}
	if err := s.d.CheckVolumeName(a, req.Name); err != nil {
		return err
	}
	if v, err := s.volume(r.Context(), a, req.Name); err == nil {
		return writeJSON(w, http.StatusCreated, v)
	}
	labels := req.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return writeJSON(w, http.StatusCreated, volume.Volume{Name: req.Name, Driver: "local", Scope: "local", Labels: labels, Options: map[string]string{}})
}

// volumeRemove is DELETE /volumes/{name}: refused while a service mounts
// it; a name no service mounts is not found (Wharf holds nothing of it).
// The per-slot volumes stay on the nodes' engines.
func (s *Server) volumeRemove(_ http.ResponseWriter, r *http.Request, a domain.Actor) error {
	v, err := s.volume(r.Context(), a, r.PathValue("name"))
	if err != nil {
		return err
	}
	return errdefs.New(errdefs.ErrConflict, "remove "+v.Name+": volume is in use by service "+strings.Join(v.Status["Services"].([]string), ", ")+
		" (remove those first; the per-slot volumes on the nodes stay with the nodes' engines: `docker volume rm` there)")
}

func (s *Server) volumePruneRefused(_ http.ResponseWriter, _ *http.Request, _ domain.Actor) error {
	return errdefs.New(errdefs.ErrNotImplemented, "Wharf's Docker endpoint does not prune volumes: the nodes' volumes are their engines' (`docker volume prune` on a node)")
}
