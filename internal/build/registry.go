package build

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	enginepkg "github.com/wharfhq/wharf/internal/build/engine"
	"github.com/wharfhq/wharf/internal/compose"
)

// Registry is the server's built-in registry, as the CLI reaches it.
type Registry = enginepkg.Registry

// Repository is where the image of service svc of stack is pushed, and
// the extra tag the image: key asks for ("" when none):
//
//   - no image:, or an image: with no registry (web, acme/web:1.0):
//     <host>/<org>/<stack>-<svc>, as Compose names a built image
//     <project>-<service>;
//   - an image: in the built-in registry (<host>/<org>/name[:tag]): that
//     repository, and its tag besides the context hash;
//   - an image: in any other registry is refused: Wharf pushes only to
//     its own.
func Repository(reg Registry, stack, svc string, b *compose.Build) (name.Repository, string, error) {
	img := b.Image
	if img != "" && explicitRegistry(img) {
		ref, err := name.ParseReference(img, reg.NameOptions()...)
		if err != nil {
			return name.Repository{}, "", fmt.Errorf("service %s: image %q: %w", svc, img, err)
		}
		if ref.Context().RegistryStr() != reg.Host {
			return name.Repository{}, "", fmt.Errorf("service %s builds image %q, which names registry %s: Wharf pushes built images to its built-in registry %s only; drop the registry from image:, or name an image under %s/%s",
				svc, img, ref.Context().RegistryStr(), reg.Host, reg.Host, reg.Org)
		}
		if first, _, _ := strings.Cut(ref.Context().RepositoryStr(), "/"); first != reg.Org {
			return name.Repository{}, "", fmt.Errorf("service %s builds image %q outside organization %s: name an image under %s/%s", svc, img, reg.Org, reg.Host, reg.Org)
		}
		tag := ""
		if t, ok := ref.(name.Tag); ok && strings.Contains(img, ":"+t.TagStr()) {
			tag = t.TagStr()
		}
		if _, ok := ref.(name.Digest); ok {
			return name.Repository{}, "", fmt.Errorf("service %s builds image %q: a built image has no digest before it is built; drop the @sha256 part", svc, img)
		}
		return ref.Context(), tag, nil
	}
	repo, err := name.NewRepository(reg.Host+"/"+reg.Org+"/"+strings.ToLower(stack+"-"+svc), append(reg.NameOptions(), name.StrictValidation)...)
	if err != nil {
		return name.Repository{}, "", fmt.Errorf("service %s: no repository name for it in the built-in registry: %w", svc, err)
	}
	return repo, "", nil
}

// explicitRegistry says whether image names a registry, by Docker's rule:
// its first path element has a dot or a colon, or is localhost.
func explicitRegistry(image string) bool {
	first, _, ok := strings.Cut(image, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}

// registryError says what a registry's refusal means.
func registryError(reg Registry, ref string, err error) error {
	return enginepkg.RegistryError(reg, ref, err)
}

// notFound says whether err is the registry's "no such manifest".
func notFound(err error) bool { return enginepkg.NotFound(err) }
