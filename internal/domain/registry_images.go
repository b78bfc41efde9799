package domain

import (
	"context"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// ImageStore is the built-in registry's storage, as the image operations
// use it (internal/registry implements it). Repository names are
// "<org>/<name...>"; errors are errdefs errors.
type ImageStore interface {
	// Repositories lists the repositories whose names start with prefix.
	Repositories(ctx context.Context, prefix string) ([]string, error)
	// Images lists a repository's tags and untagged manifests.
	Images(ctx context.Context, repo string) ([]api.Image, error)
	// TagDigest is the digest a tag points at ("" when there is none).
	TagDigest(ctx context.Context, repo, tag string) (string, error)
	// Remove removes a tag (and its manifest when no other tag points
	// at it), or a manifest by digest with its tags.
	Remove(ctx context.Context, repo, tag, digest string) error
	// GC removes unreferenced blobs (and untagged manifests with
	// untagged), never while a push is in flight.
	GC(ctx context.Context, untagged bool) (api.ImageGCResult, error)
}

// images is the registry's storage, or an unavailable error when the
// server runs none.
func (d *Domain) images() (ImageStore, error) {
	if d.cfg.Images == nil {
		return nil, newErr(errdefs.ErrUnavailable, "this server runs no built-in registry")
	}
	return d.cfg.Images, nil
}

// RegistryInfo says where the built-in registry is reached.
func (d *Domain) RegistryInfo(ctx context.Context, a Actor) (api.RegistryInfo, error) {
	if err := a.need(RegistryPull); err != nil {
		return api.RegistryInfo{}, err
	}
	if _, err := d.images(); err != nil {
		return api.RegistryInfo{}, err
	}
	return api.RegistryInfo{Host: d.cfg.RegistryHost}, nil
}

// RegistryCatalog lists the repositories of the actor's organization (the
// registry's /v2/_catalog, which shows no other organization's).
func (d *Domain) RegistryCatalog(ctx context.Context, a Actor) ([]string, error) {
	if err := a.need(RegistryPull); err != nil {
		return nil, err
	}
	is, err := d.images()
	if err != nil {
		return nil, err
	}
	repos, err := is.Repositories(ctx, OrgName(a.Org)+"/")
	if err != nil || a.onlyRepo == "" {
		return repos, err
	}
	if slices.Contains(repos, a.onlyRepo) {
		return []string{a.onlyRepo}, nil
	}
	return nil, nil
}

// ListImages lists the tags and untagged manifests of every repository of
// the actor's organization.
func (d *Domain) ListImages(ctx context.Context, a Actor) (api.ImageList, error) {
	if err := a.need(RegistryPull); err != nil {
		return api.ImageList{}, err
	}
	is, err := d.images()
	if err != nil {
		return api.ImageList{}, err
	}
	repos, err := is.Repositories(ctx, OrgName(a.Org)+"/")
	if err != nil {
		return api.ImageList{}, err
	}
	out := api.ImageList{Items: []api.Image{}}
	for _, r := range repos {
		imgs, err := is.Images(ctx, r)
		if err != nil {
			return api.ImageList{}, err
		}
		out.Items = append(out.Items, imgs...)
	}
	return out, nil
}

// RemoveImage removes ref, "<org>/<repo>:<tag>" or "<org>/<repo>@<digest>",
// from the actor's organization's repositories: a tag (with its manifest
// when no other tag points at it), or a manifest with every tag pointing
// at it. The layers are freed by the next garbage collection.
func (d *Domain) RemoveImage(ctx context.Context, a Actor, ref string) error {
	if err := a.need(RegistryAdmin); err != nil {
		return err
	}
	noteObject(ctx, ref)
	repo, tag, dgst, err := parseImageRef(ref)
	if err != nil {
		return err
	}
	if org, _, _ := strings.Cut(repo, "/"); org != OrgName(a.Org) {
		return notFoundErr("image", ref)
	}
	is, err := d.images()
	if err != nil {
		return err
	}
	return is.Remove(ctx, repo, tag, dgst)
}

// CollectImageGarbage removes the registry's blobs that no manifest
// references (and, with untagged, the manifests no tag points at), for
// every organization: the server's administrators only.
func (d *Domain) CollectImageGarbage(ctx context.Context, a Actor, untagged bool) (api.ImageGCResult, error) {
	if err := a.need(ServerAdmin); err != nil {
		return api.ImageGCResult{}, err
	}
	is, err := d.images()
	if err != nil {
		return api.ImageGCResult{}, err
	}
	return is.GC(ctx, untagged)
}

// parseImageRef splits "<org>/<repo>[:tag|@digest]"; one of tag and
// digest is set.
func parseImageRef(ref string) (repo, tag, dgst string, err error) {
	bad := func(why string) error {
		return errdefs.Invalid("ref", "%q %s: want <org>/<repository>:<tag> or <org>/<repository>@sha256:<digest>, as `wharf image ls` shows them", ref, why)
	}
	if len(ref) > 512 {
		return "", "", "", bad("is too long")
	}
	if r, d, ok := strings.Cut(ref, "@"); ok {
		repo, dgst = r, d
		if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 || strings.Trim(d[7:], "0123456789abcdef") != "" {
			return "", "", "", bad("has no valid sha256 digest")
		}
	} else {
		i := strings.LastIndex(ref, ":")
		if i < 0 || strings.Contains(ref[i:], "/") {
			return "", "", "", bad("names no tag")
		}
		repo, tag = ref[:i], ref[i+1:]
		if !imageTagRE.MatchString(tag) {
			return "", "", "", bad("has an invalid tag")
		}
	}
	if !repoNameRE.MatchString(repo) || !strings.Contains(repo, "/") {
		return "", "", "", bad("has an invalid repository name")
	}
	return repo, tag, dgst, nil
}
