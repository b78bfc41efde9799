package runtime

import (
	"context"
	"io"
)

// ImageBuilder is a Driver whose engine can build an image from a context
// tar and push it to a registry (the docker driver). The agent asks for it
// with a type assertion, and only when it was started with
// --allow-builds.
type ImageBuilder interface {
	// BuildImage builds the context tar as spec says, pushes the image to
	// spec.Ref and returns its manifest digest, writing the build's output
	// to out.
	BuildImage(ctx context.Context, spec BuildSpec, tar io.Reader, out io.Writer) (digest string, err error)
}

// BuildSpec is one image to build and push.
type BuildSpec struct {
	// Ref is <registry host>/<repository>:<tag>.
	Ref        string
	Dockerfile string
	Target     string
	Args       map[string]string
	// Username and Password push to the registry; CACert (PEM) is what
	// its TLS certificate is checked against.
	Username, Password string
	CACert             []byte
}
