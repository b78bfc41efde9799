// Package engine builds images with a Docker Engine and pushes them to
// Wharf's built-in registry, for both ends of a build: the CLI's `wharf
// stack deploy` (internal/build, which adds the compose side: contexts,
// hashes, repositories) and a node's agent building for the server
// (BuildTar, through the docker driver). It knows nothing of compose
// files, so the agent links no compose loader.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	buildtypes "github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
)

// Build builds the context tar with the engine, tagged ref there,
// streaming the engine's output to log. The classic builder needs no
// BuildKit session.
func Build(ctx context.Context, engine *client.Client, tar io.Reader, ref, dockerfile, target string, buildArgs map[string]string, log io.Writer) error {
	args := make(map[string]*string, len(buildArgs))
	for k, v := range buildArgs {
		args[k] = &v
	}
	res, err := engine.ImageBuild(ctx, tar, client.ImageBuildOptions{
		Tags: []string{ref}, Dockerfile: dockerfile, BuildArgs: args, Target: target,
		Remove: true, ForceRemove: true, Version: buildtypes.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return jsonmessage.DisplayJSONMessagesStream(res.Body, log, 0, false, nil)
}

// Push pushes the engine's image tag to the registry (and tags it
// extraTag there too, when set); what names it in messages.
func Push(ctx context.Context, engine *client.Client, tag name.Tag, extraTag, what string, reg Registry, ropts []remote.Option, log io.Writer) (string, error) {
	f, err := os.CreateTemp("", "wharf-build-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	saved, err := engine.ImageSave(ctx, []string{tag.String()})
	if err != nil {
		return "", fmt.Errorf("export the image of %s from the engine: %w", what, err)
	}
	_, err = io.Copy(f, saved)
	saved.Close()
	if err != nil {
		return "", fmt.Errorf("export the image of %s from the engine: %w", what, err)
	}
	img, err := tarball.ImageFromPath(f.Name(), nil)
	if err != nil {
		return "", fmt.Errorf("read the image of %s: %w", what, err)
	}
	updates, wait := pushProgress(log, what)
	err = remote.Write(tag, img, append(ropts[:len(ropts):len(ropts)], remote.WithProgress(updates))...)
	wait()
	if err != nil {
		return "", RegistryError(reg, tag.String(), err)
	}
	if extraTag != "" {
		t := tag.Context().Tag(extraTag)
		if err := remote.Tag(t, img, ropts...); err != nil {
			return "", RegistryError(reg, t.String(), err)
		}
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// pushProgress prints a push's progress to log at most once a second, and
// once at its end; wait returns when go-containerregistry has closed
// updates (at the end of the push) and all is printed.
func pushProgress(log io.Writer, svc string) (chan v1.Update, func()) {
	updates := make(chan v1.Update, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var last time.Time
		var u v1.Update
		for u = range updates {
			if u.Error == nil && time.Since(last) >= time.Second {
				fmt.Fprintf(log, "pushing %s: %s of %s\n", svc, mib(u.Complete), mib(u.Total))
				last = time.Now()
			}
		}
		if u.Total > 0 && u.Error == nil {
			fmt.Fprintf(log, "pushed %s: %s\n", svc, mib(u.Total))
		}
	}()
	return updates, func() { <-done }
}

// mib is n bytes in MiB, or KiB below one MiB.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

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

// Options are go-containerregistry's options for reg.
func (reg Registry) Options() ([]remote.Option, error) {
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

// NameOptions parse references of reg: plain HTTP only when allowed.
func (reg Registry) NameOptions() []name.Option {
	if reg.AllowHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}

// RegistryError says what a registry's refusal means.
func RegistryError(reg Registry, ref string, err error) error {
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

// NotFound says whether err is the registry's "no such manifest".
func NotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// NodeBuild is a build a node's agent runs for the server (wharf agent
// --allow-builds): the context tar came from a user's `wharf stack
// deploy` through the server, and the image is pushed with a credential
// the server made for its one repository.
type NodeBuild struct {
	// Ref is <registry host>/<org>/<name>:<tag>, on Registry.Host.
	Ref        string
	Dockerfile string
	Target     string
	Args       map[string]string
	// Registry is the built-in registry with the build's push
	// credential (Username, Password) and the cluster CA (CACert).
	Registry Registry
}

// BuildTar builds the context tar with the engine (the classic builder,
// as the CLI's own builds), pushes the image to b.Registry as b.Ref and
// returns its manifest digest. The build's and the push's output go to
// log. The image is removed from the engine afterwards, built or not: a
// node keeps no image it built for someone else (one that runs it pulls
// it by its digest like any other node).
func BuildTar(ctx context.Context, engine *client.Client, b NodeBuild, tar io.Reader, log io.Writer) (string, error) {
	tag, err := name.NewTag(b.Ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", b.Ref, err)
	}
	if tag.RegistryStr() != b.Registry.Host {
		return "", fmt.Errorf("image %q is not in the built-in registry %s", b.Ref, b.Registry.Host)
	}
	ropts, err := b.Registry.Options()
	if err != nil {
		return "", err
	}
	ropts = append(ropts, remote.WithContext(ctx))
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = engine.ImageRemove(rctx, tag.String(), client.ImageRemoveOptions{PruneChildren: true})
	}()
	if err := Build(ctx, engine, tar, tag.String(), b.Dockerfile, b.Target, b.Args, log); err != nil {
		return "", fmt.Errorf("build %s failed: %w", tag.RepositoryStr(), err)
	}
	return Push(ctx, engine, tag, "", tag.RepositoryStr(), b.Registry, ropts, log)
}
