package domain

// The operations the Docker endpoint (internal/dockerapi) needs beyond the
// REST API's: resolving an image's digest as `docker pull` and `docker
// image inspect` see it, and checking a volume `docker volume create`
// declares.

import (
	"context"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/netalloc"
	"github.com/wharfhq/wharf/internal/store"
)

// ResolveImage resolves image's tag ("latest" when it names none) to the
// digest its registry holds, as a service of it would be pinned: the
// built-in registry's storage for its images, else the image's registry
// with the organization's credential. Nothing is written. It refuses an
// actor without registry pull, an image by digest (the digest is its
// answer already: returned as is), and answers unavailable when the
// server resolves no image of image's registry.
func (d *Domain) ResolveImage(ctx context.Context, a Actor, image string) (string, error) {
	if err := a.need(RegistryPull); err != nil {
		return "", err
	}
	if image == "" || len(image) > 512 || strings.ContainsAny(image, " \t\n") {
		return "", errdefs.Invalid("image", "%q is not an image reference: want [registry/]repository[:tag], such as %s", image, "registry.example.com/team/app:v1")
	}
	if _, dgst, ok := strings.Cut(image, "@"); ok {
		return dgst, nil
	}
	spec := api.ServiceSpec{Image: image}
	if !d.needsPin(&spec) {
		return "", newErr(errdefs.ErrUnavailable, "image %s: this server resolves no image of registry %s (it has no resolver)", image, api.RegistryHost(image))
	}
	v, err := d.newPinner(a).pin(ctx, &spec)
	if err != nil {
		return "", err
	}
	_, dgst, _ := strings.Cut(v, "@")
	return dgst, nil
}

// CheckVolumeName checks the name of a named volume a client declares
// (`docker volume create`, a compose file's volumes): the rule of a
// service's named volume source. It refuses an actor who may not deploy
// services, whose containers are what would mount it.
func (d *Domain) CheckVolumeName(a Actor, name string) error {
	if err := a.need(AppsDeploy); err != nil {
		return err
	}
	if !volumeSourceRE.MatchString(name) || len(name) > maxVolumeSourceLen {
		return errdefs.Invalid("name", "volume name %q must match %s and be at most %d bytes", name, volumeSourceRE, maxVolumeSourceLen)
	}
	return nil
}

// CreateNetworkAnySubnet is CreateNetwork for a client that names no
// subnet (docker network create, a compose file's networks): the
// network gets the organization's first free /16 from 10.8.0.0/16 on, as
// a stack's networks do. A subnet another network took meanwhile is
// picked again.
func (d *Domain) CreateNetworkAnySubnet(ctx context.Context, a Actor, name string) (*api.Network, error) {
	if err := a.need(NetworksWrite); err != nil {
		return nil, err
	}
	if err := validateNetworkName(name); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		all, _, err := store.ListAll[api.Network](ctx, d.st, store.KindNetworks)
		if err != nil {
			return nil, err
		}
		p, err := netalloc.FreeSubnet(subnetsOf(orgNetworks(a, all)))
		if err != nil {
			return nil, err
		}
		n, err := d.CreateNetwork(ctx, a, api.NetworkCreate{Name: name, Subnet: p.String()})
		if err == nil || attempt == networkAttempts || !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "overlaps") {
			return n, err
		}
	}
}
