package build

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/wharfhq/wharf/internal/compose"
)

// Registry is the server's built-in registry, as the CLI reaches it.
type Registry struct {
	// Host is host:port (api.RegistryInfo.Host from GET /v1/registry).
	Host string
	// Org is the organization the user acts in: the first path element
	// of every repository pushed.
	Org string
	// Username and Password are sent with Basic auth: the password is
	// the user's Wharf API token.
	Username, Password string
	// CACert is the PEM the CLI trusts the server with (the cluster CA);
	// empty: the system roots.
	CACert []byte
	// AllowHTTP lets the token go over plain HTTP. Only for an API that
	// is itself plain HTTP (tests): otherwise a registry that fails TLS
	// is an error, never a fallback to HTTP.
	AllowHTTP bool
}

// httpsOnly refuses plain HTTP requests: go-containerregistry falls back
// to HTTP for private and loopback addresses when HTTPS fails, which
// would hand the token to whoever answers there.
type httpsOnly struct {
	host  string
	inner http.RoundTripper
}

func (t httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("registry %s: refusing plain HTTP (the Wharf token is sent over HTTPS only)", t.host)
	}
	return t.inner.RoundTrip(r)
}

// options are go-containerregistry's options for reg.
func (reg Registry) options() ([]remote.Option, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(reg.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(reg.CACert) {
			return nil, errors.New("CA certificate: no PEM certificate found")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = tr
	if !reg.AllowHTTP {
		rt = httpsOnly{reg.Host, tr}
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: reg.Username, Password: reg.Password})
	return []remote.Option{remote.WithTransport(rt), remote.WithAuth(auth)}, nil
}

// nameOptions parse references of reg: plain HTTP only when allowed.
func (reg Registry) nameOptions() []name.Option {
	if reg.AllowHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}

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
		ref, err := name.ParseReference(img, reg.nameOptions()...)
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
	repo, err := name.NewRepository(reg.Host+"/"+reg.Org+"/"+strings.ToLower(stack+"-"+svc), append(reg.nameOptions(), name.StrictValidation)...)
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
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("registry %s refused the Wharf token for %s (HTTP 401): log in again (`wharf login`)", reg.Host, ref)
		case http.StatusForbidden:
			return fmt.Errorf("registry %s: your token may not push %s (HTTP 403): it needs the registry.push permission in organization %s", reg.Host, ref, reg.Org)
		}
	}
	return fmt.Errorf("registry %s: %s: %w", reg.Host, ref, err)
}

// notFound says whether err is the registry's "no such manifest".
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
