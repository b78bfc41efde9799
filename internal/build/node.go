package build

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
)

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
	ropts, err := b.Registry.options()
	if err != nil {
		return "", err
	}
	ropts = append(ropts, remote.WithContext(ctx))
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = engine.ImageRemove(rctx, tag.String(), client.ImageRemoveOptions{PruneChildren: true})
	}()
	if err := engineBuild(ctx, engine, tar, tag.String(), b.Dockerfile, b.Target, b.Args, log); err != nil {
		return "", fmt.Errorf("build %s failed: %w", tag.RepositoryStr(), err)
	}
	return pushImage(ctx, engine, tag, "", tag.RepositoryStr(), b.Registry, ropts, log)
}

// remoteBuild has a node of the server build s (Options.Remote), then
// gives the pushed image s's extra tag, as a local build does.
func remoteBuild(ctx context.Context, s *Step, o Options, ropts []remote.Option, log io.Writer) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.ctx.writeTar(pw)) }()
	digest, err := o.Remote(ctx, api.BuildRequest{
		Repository: s.tag.RepositoryStr(), Tag: s.tag.TagStr(),
		Dockerfile: s.ctx.dockerfile, Target: s.b.Target, Args: s.b.Args,
	}, pr, log)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return "", fmt.Errorf("build service %s on a node: %w", s.Service, err)
	}
	if s.extraTag != "" {
		d, err := remote.Get(s.tag.Digest(digest), ropts...)
		if err != nil {
			return "", registryError(o.Registry, s.Ref, err)
		}
		if err := remote.Tag(s.tag.Context().Tag(s.extraTag), d, ropts...); err != nil {
			return "", registryError(o.Registry, s.tag.Context().Tag(s.extraTag).String(), err)
		}
	}
	return digest, nil
}
