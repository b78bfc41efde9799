package build

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wharfhq/wharf/api"
)

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
