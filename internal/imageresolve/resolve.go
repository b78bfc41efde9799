// Package imageresolve resolves an image reference's tag to the digest a
// registry holds for it, through the registry's API
// (github.com/google/go-containerregistry), with an organization's
// credential: how the server pins a service's image so that every node
// runs the same digest. It names the image and registry in every error
// and says which of the three usual failures it is: a refused credential,
// a tag or repository the registry lacks, a registry that does not
// answer.
package imageresolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/wharfhq/wharf/api"
)

// DefaultTimeout bounds one resolution.
const DefaultTimeout = 15 * time.Second

// Failure kinds, for errors.Is on a Resolve error.
var (
	// ErrUnauthorized: the registry refused the credential, or wants one.
	ErrUnauthorized = errors.New("registry refused the credential")
	// ErrNotFound: the registry has no such repository or tag.
	ErrNotFound = errors.New("no such image or tag")
	// ErrUnreachable: the registry did not answer in time, or at all.
	ErrUnreachable = errors.New("registry does not answer")
)

// Resolver resolves image references. The zero value trusts the system's
// roots only and times out after DefaultTimeout.
type Resolver struct {
	// RootCAs are the roots a registry's certificate must chain to (the
	// system's plus the cluster CA, for the built-in registry); nil is
	// the system's.
	RootCAs *x509.CertPool
	// Timeout bounds one Resolve (DefaultTimeout when 0).
	Timeout time.Duration
}

// Resolve returns the digest ("sha256:...") the registry of image holds
// for its tag ("latest" when it names none), authenticating with auth
// when given. A loopback or private-network registry may be plain HTTP,
// as the engine allows.
func (r *Resolver) Resolve(ctx context.Context, image string, auth *api.RegistryAuth) (string, error) {
	host := api.RegistryHost(image)
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("image %s: not a valid reference: %w", image, err)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.RootCAs, MinVersion: tls.VersionTLS12}
	a := authn.Anonymous
	if auth != nil {
		a = &authn.Basic{Username: auth.Username, Password: auth.Password}
	}
	desc, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuth(a), remote.WithTransport(tr))
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusMethodNotAllowed {
			// A registry without HEAD on manifests: GET it.
			d, gerr := remote.Get(ref, remote.WithContext(ctx), remote.WithAuth(a), remote.WithTransport(tr))
			if gerr == nil {
				return d.Digest.String(), nil
			}
			err = gerr
		}
		return "", explain(image, host, auth != nil, err)
	}
	return desc.Digest.String(), nil
}

// explain classifies a failed resolution of image on host.
func explain(image, host string, hadAuth bool, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			if hadAuth {
				return fmt.Errorf("image %s: registry %s refused the organization's credential (HTTP %d): %w; store the right one with `wharf registry login %s`", image, host, te.StatusCode, ErrUnauthorized, host)
			}
			return fmt.Errorf("image %s: registry %s wants a credential (HTTP %d): %w; store one with `wharf registry login %s`", image, host, te.StatusCode, ErrUnauthorized, host)
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("image %s: registry %s has %w; check the name and tag (was it pushed?)", image, host, ErrNotFound)
		}
		// Not the answer's body: the host is the user's to name, and it
		// may be no registry at all (an internal service the server
		// reaches); only the status is told.
		return fmt.Errorf("image %s: %s answered HTTP %d, which is not a registry's answer for it; check the image's host", image, host, te.StatusCode)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.As(err, &oe) || strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "no such host") {
		return fmt.Errorf("image %s: %w at %s: %v; check the registry's address and that the server reaches it", image, ErrUnreachable, host, err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("image %s: %w at %s: %v; check the registry's address and that the server reaches it", image, ErrUnreachable, host, ue.Err)
	}
	// Not err's text either: it may quote what a non-registry answered.
	return fmt.Errorf("image %s: %s did not answer as a registry (%T); check the image's host", image, host, err)
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}
