package domain

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Pinning (as SwarmKit does): when a service is created, its image or
// pull policy changes, or it is redeployed (alone or by its stack), the
// domain resolves the image's tag to the digest its registry holds, once,
// with the organization's credential for that registry, and keeps
// "<image>@<digest>" in Service.ResolvedImage. New containers run that
// (Service.RunImage), so every node pulls the same digest and a tag moved
// later changes nothing until the next redeploy. A rollback runs the
// previous spec's pinned image (PreviousResolvedImage).
//
// Not resolved: pull policy never (the image is on the nodes already, as
// tests and images only `docker load`ed have it), an image already by
// digest, services of the exec and fake drivers, and every image when the
// domain has no Resolver.
//
// A failed resolution refuses the create, update or redeploy before
// anything is written (an invalid-input error: a 400), naming the image
// and registry and saying what went wrong: a refused or missing
// credential, a missing tag, a registry that does not answer; it suggests
// pull policy never for images that are only loaded on the nodes.

// ImageResolver resolves an image reference's tag to the digest its
// registry holds ("sha256:..."), with auth when given
// (internal/imageresolve implements it).
type ImageResolver interface {
	Resolve(ctx context.Context, image string, auth *api.RegistryAuth) (string, error)
}

// needsPin reports whether spec's image is to be resolved.
func (d *Domain) needsPin(spec *api.ServiceSpec) bool {
	return (d.cfg.Resolver != nil || d.builtinHost(api.RegistryHost(spec.Image))) && spec.Image != "" &&
		spec.DriverName() == "docker" && spec.PullPolicy != api.PullNever && !strings.Contains(spec.Image, "@")
}

// pinner resolves the images of one call, each once (a call that retries
// its transaction does not ask the registry again).
type pinner struct {
	d    *Domain
	org  string
	memo map[string]string
}

func (d *Domain) newPinner(a Actor) *pinner {
	return &pinner{d: d, org: OrgName(a.Org), memo: map[string]string{}}
}

// pin returns spec's image pinned to its digest, "" when it is not
// resolved (see needsPin), or an errdefs.ErrInvalid error naming image
// and registry.
func (p *pinner) pin(ctx context.Context, spec *api.ServiceSpec) (string, error) {
	if !p.d.needsPin(spec) {
		return "", nil
	}
	if v, ok := p.memo[spec.Image]; ok {
		return v, nil
	}
	host := api.RegistryHost(spec.Image)
	var (
		digest string
		err    error
	)
	if p.d.builtinHost(host) {
		digest, err = p.d.builtinDigest(ctx, p.org, spec.Image, host)
	} else {
		digest, err = p.resolve(ctx, spec.Image, host)
	}
	if err != nil {
		return "", err
	}
	v := spec.Image + "@" + digest
	p.memo[spec.Image] = v
	return v, nil
}

// resolve asks image's registry for the digest of its tag, with the
// organization's credential for host.
func (p *pinner) resolve(ctx context.Context, image, host string) (string, error) {
	auth, err := p.d.registryAuth(ctx, p.org, host)
	if err != nil {
		return "", err
	}
	digest, err := p.d.cfg.Resolver.Resolve(ctx, image, auth)
	if err != nil {
		return "", newErr(errdefs.ErrInvalid, "cannot resolve the digest of image %s from registry %s: %v (nothing was changed; an image that is only loaded on the nodes needs pull policy never: --pull never, or pull_policy: never)",
			image, host, err)
	}
	return digest, nil
}

// builtinHost tells whether host is the built-in registry's.
func (d *Domain) builtinHost(host string) bool {
	return d.cfg.Images != nil && d.cfg.RegistryHost != "" && api.NormalizeRegistryHost(d.cfg.RegistryHost) == host
}

// builtinDigest reads the digest of image's tag from the built-in
// registry's storage, with no round trip through its HTTP front door or a
// credential. A repository of another organization is not found, as it
// is not over HTTP.
func (d *Domain) builtinDigest(ctx context.Context, org, image, host string) (string, error) {
	ref := strings.TrimPrefix(image[len(host):], "/")
	if i := strings.LastIndex(ref, ":"); i < 0 || strings.Contains(ref[i:], "/") {
		ref += ":latest"
	}
	repo, tag, _, err := parseImageRef(ref)
	if err != nil {
		return "", newErr(errdefs.ErrInvalid, "image %s: %v", image, err)
	}
	missing := newErr(errdefs.ErrInvalid, "image %s is not in the built-in registry %s: organization %s has no tag %s in repository %s (push it first, or check `wharf image ls`; nothing was changed)",
		image, host, OrgName(org), tag, repo)
	if first, _, _ := strings.Cut(repo, "/"); first != OrgName(org) {
		return "", missing
	}
	digest, err := d.cfg.Images.TagDigest(ctx, repo, tag)
	switch {
	case err != nil:
		return "", err
	case digest == "":
		return "", missing
	}
	return digest, nil
}

// repin sets svc.ResolvedImage for its current spec: resolved anew, or ""
// when not resolved.
func (p *pinner) repin(ctx context.Context, svc *api.Service) error {
	v, err := p.pin(ctx, &svc.Spec)
	if err != nil {
		return err
	}
	svc.ResolvedImage = v
	return nil
}

// refresh re-resolves svc's image when its pin no longer fits its spec:
// the image or pull policy changed (or it was never pinned and should
// be). An image that did not change keeps its digest.
func (p *pinner) refresh(ctx context.Context, svc *api.Service) error {
	pinned := svc.ResolvedImage != "" && strings.HasPrefix(svc.ResolvedImage, svc.Spec.Image+"@")
	if p.d.needsPin(&svc.Spec) == pinned {
		return nil
	}
	return p.repin(ctx, svc)
}
