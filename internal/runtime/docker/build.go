package docker

import (
	"context"
	"io"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wharfhq/wharf/internal/build/engine"
	"github.com/wharfhq/wharf/internal/runtime"
)

// BuildImage builds and pushes an image with the engine (see
// engine.BuildTar: the classic builder, pushed with the given credential,
// the image removed from the engine afterwards).
func (d *Driver) BuildImage(ctx context.Context, spec runtime.BuildSpec, tar io.Reader, out io.Writer) (string, error) {
	host := ""
	if t, err := name.NewTag(spec.Ref); err == nil {
		host = t.RegistryStr()
	}
	return engine.BuildTar(ctx, d.cli, engine.NodeBuild{
		Ref: spec.Ref, Dockerfile: spec.Dockerfile, Target: spec.Target, Args: spec.Args,
		Registry: engine.Registry{Host: host, Username: spec.Username, Password: spec.Password, CACert: spec.CACert},
	}, tar, out)
}

var _ runtime.ImageBuilder = (*Driver)(nil)
