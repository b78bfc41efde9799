package docker

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Volumes and bind mounts.
//
// A named volume (api.VolumeNamed) is a Docker volume of the local driver
// named spec.Mounts[i].Source, which the controller already made per slot
// ("<service>-<slot>-<source>"). The driver creates it before the
// container, labelled wharf.managed=true, wharf.node, wharf.service and
// wharf.slot, or uses it as it is when it exists. The data outlives every
// container: neither Remove nor a replaced container ever deletes a named
// volume, so the slot's next container on this node finds it again. Nothing
// moves it to another node.
//
// A bind mount (api.VolumeBind) mounts an absolute path of the node, which
// must exist: the engine does not create it, and Start then fails saying
// so.

// mounts is the engine's form of spec.Mounts.
func mounts(spec runtime.Spec) ([]mount.Mount, error) {
	out := make([]mount.Mount, 0, len(spec.Mounts))
	for i, m := range spec.Mounts {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("docker driver: start %s: volume %d (%s:%s): %s", spec.ID, i, m.Source, m.Target, fmt.Sprintf(format, args...))
		}
		if !path.IsAbs(m.Target) {
			return nil, bad("the target must be an absolute path in the container")
		}
		mm := mount.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		switch m.Type {
		case api.VolumeNamed:
			if m.Source == "" {
				return nil, bad("a named volume needs a name")
			}
			mm.Type = mount.TypeVolume
		case api.VolumeBind:
			if !path.IsAbs(m.Source) {
				return nil, bad("a bind mount's source must be an absolute path on the node")
			}
			mm.Type = mount.TypeBind
		default:
			return nil, bad("unknown type %q: want %s or %s", m.Type, api.VolumeNamed, api.VolumeBind)
		}
		out = append(out, mm)
	}
	return out, nil
}

// volumeLabels are the labels of a named volume the driver creates.
func volumeLabels(spec runtime.Spec, node string) map[string]string {
	return map[string]string{
		labelManaged: "true",
		labelNode:    node,
		labelService: spec.Service,
		labelSlot:    strconv.Itoa(spec.Slot),
	}
}

// ensureVolumes creates spec's named volumes that do not exist yet, with
// Wharf's labels; one that exists is used as it is (the engine answers a
// create of an existing local volume with that volume, and a conflict when
// another driver owns the name: either way the mount then uses it).
func (d *Driver) ensureVolumes(ctx context.Context, spec runtime.Spec, node string) error {
	for _, m := range spec.Mounts {
		if m.Type != api.VolumeNamed {
			continue
		}
		_, err := d.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: m.Source, Labels: volumeLabels(spec, node)})
		if err != nil && !cerrdefs.IsConflict(err) {
			return fmt.Errorf("docker driver: start %s: create volume %s: %w", spec.ID, m.Source, err)
		}
	}
	return nil
}

// bindMissing turns the engine's refusal of a bind mount whose source does
// not exist into an error saying what to do; it returns nil for any other
// error.
func bindMissing(spec runtime.Spec, err error) error {
	if !strings.Contains(err.Error(), "bind source path does not exist") {
		return nil
	}
	var srcs []string
	for _, m := range spec.Mounts {
		if m.Type == api.VolumeBind && strings.Contains(err.Error(), m.Source) {
			srcs = append(srcs, m.Source)
		}
	}
	what := "a bind mount's source"
	if len(srcs) > 0 {
		what = "bind mount source " + strings.Join(srcs, ", ")
	}
	return fmt.Errorf("docker driver: start %s: %s does not exist on this node: create it there, or change the service's volumes: %w", spec.ID, what, err)
}
