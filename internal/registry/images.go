package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/distribution/distribution/v3"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Repositories lists the stored repositories whose names start with
// prefix ("acme/" for organization acme's), sorted.
func (r *Registry) Repositories(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	batch := make([]string, 100)
	last := ""
	for {
		n, err := r.ns.Repositories(ctx, batch, last)
		for _, name := range batch[:n] {
			if strings.HasPrefix(name, prefix) {
				out = append(out, name)
			}
		}
		if n > 0 {
			last = batch[n-1]
		}
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			break
		}
		if err != nil {
			if isPathNotFound(err) {
				break // nothing pushed yet
			}
			return nil, r.storageErr(err)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Images lists repo's tags with their manifests' digests and sizes, and
// the manifests no tag points at.
func (r *Registry) Images(ctx context.Context, repo string) ([]api.Image, error) {
	rep, err := r.repo(ctx, repo)
	if err != nil {
		return nil, err
	}
	tags, err := rep.Tags(ctx).All(ctx)
	var unknown distribution.ErrRepositoryUnknown
	if err != nil && !errors.As(err, &unknown) {
		return nil, r.storageErr(err)
	}
	ms, err := rep.Manifests(ctx)
	if err != nil {
		return nil, r.storageErr(err)
	}
	var out []api.Image
	tagged := map[digest.Digest]bool{}
	slices.Sort(tags)
	for _, tag := range tags {
		desc, err := rep.Tags(ctx).Get(ctx, tag)
		if err != nil {
			continue // removed meanwhile
		}
		tagged[desc.Digest] = true
		out = append(out, api.Image{Repository: repo, Tag: tag, Digest: desc.Digest.String(), Size: r.size(ctx, ms, desc.Digest)})
	}
	if en, ok := ms.(distribution.ManifestEnumerator); ok {
		var untagged []api.Image
		_ = en.Enumerate(ctx, func(d digest.Digest) error {
			if !tagged[d] {
				untagged = append(untagged, api.Image{Repository: repo, Digest: d.String(), Size: r.size(ctx, ms, d)})
			}
			return nil
		})
		slices.SortFunc(untagged, func(a, b api.Image) int { return strings.Compare(a.Digest, b.Digest) })
		out = append(out, untagged...)
	}
	return out, nil
}

// TagDigest is the digest tag points at in repo, or "" when repo has
// no such tag (or does not exist).
func (r *Registry) TagDigest(ctx context.Context, repo, tag string) (string, error) {
	rep, err := r.repo(ctx, repo)
	if err != nil {
		return "", err
	}
	desc, err := rep.Tags(ctx).Get(ctx, tag)
	var unknownTag distribution.ErrTagUnknown
	var unknownRepo distribution.ErrRepositoryUnknown
	switch {
	case errors.As(err, &unknownTag), errors.As(err, &unknownRepo), isPathNotFound(err):
		return "", nil
	case err != nil:
		return "", r.storageErr(err)
	}
	return desc.Digest.String(), nil
}

// size adds up the sizes a manifest references (0 for an index, whose
// references are other manifests, or when it cannot be read).
func (r *Registry) size(ctx context.Context, ms distribution.ManifestService, d digest.Digest) int64 {
	m, err := ms.Get(ctx, d)
	if err != nil {
		return 0
	}
	var n int64
	for _, ref := range m.References() {
		if ref.MediaType == v1.MediaTypeImageManifest || strings.Contains(ref.MediaType, "manifest") {
			return 0
		}
		n += ref.Size
	}
	return n
}

// Remove removes a tag of repo, and its manifest when no other tag points
// at it; or, with a digest, the manifest and every tag pointing at it.
// The blobs stay until a garbage collection.
func (r *Registry) Remove(ctx context.Context, repo, tag, dgst string) error {
	r.gc.RLock()
	defer r.gc.RUnlock()
	rep, err := r.repo(ctx, repo)
	if err != nil {
		return err
	}
	ts := rep.Tags(ctx)
	var d digest.Digest
	if tag != "" {
		desc, err := ts.Get(ctx, tag)
		if err != nil {
			return errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("image %s:%s not found", repo, tag))
		}
		d = desc.Digest
		if err := ts.Untag(ctx, tag); err != nil {
			return r.storageErr(err)
		}
		others, err := ts.Lookup(ctx, v1.Descriptor{Digest: d})
		if err != nil {
			return r.storageErr(err)
		}
		if len(others) > 0 {
			return nil // the manifest is still tagged
		}
	} else {
		if d, err = digest.Parse(dgst); err != nil {
			return errdefs.Invalid("ref", "%q is not a digest (want sha256:<64 hex digits>)", dgst)
		}
		tags, err := ts.Lookup(ctx, v1.Descriptor{Digest: d})
		if err != nil {
			return r.storageErr(err)
		}
		for _, t := range tags {
			if err := ts.Untag(ctx, t); err != nil {
				return r.storageErr(err)
			}
		}
	}
	ms, err := rep.Manifests(ctx)
	if err != nil {
		return r.storageErr(err)
	}
	if err := ms.Delete(ctx, d); err != nil {
		var unknown distribution.ErrManifestUnknownRevision
		if errors.As(err, &unknown) || tag == "" {
			return errdefs.New(errdefs.ErrNotFound, fmt.Sprintf("image %s@%s not found", repo, d))
		}
		return r.storageErr(err)
	}
	r.lastWrite.Store(nowNanos())
	return nil
}

// repo opens a repository by name, refusing a name distribution would.
func (r *Registry) repo(ctx context.Context, name string) (distribution.Repository, error) {
	named, err := reference.WithName(name)
	if err != nil {
		return nil, errdefs.Invalid("repository", "%q is not a repository name: %v", name, err)
	}
	rep, err := r.ns.Repository(ctx, named)
	if err != nil {
		return nil, r.storageErr(err)
	}
	return rep, nil
}

// storageErr wraps an error of the storage as unavailable, naming it.
func (r *Registry) storageErr(err error) error {
	return fmt.Errorf("%w: registry storage (%s): %v", errdefs.ErrUnavailable, r.storage, err)
}

// isPathNotFound is whether err is the storage's "no such path" (a
// registry nothing was pushed to yet has no repositories directory).
func isPathNotFound(err error) bool {
	var pnf storagedriver.PathNotFoundError
	return errors.As(err, &pnf)
}
