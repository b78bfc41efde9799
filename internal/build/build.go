package build

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/compose"
)

// Actions of a Step.
const (
	// ActionBuild is an image to build and push: its tag is not in the
	// registry.
	ActionBuild = "build"
	// ActionUnchanged is an image whose tag is in the registry: the same
	// context was built and pushed before, nothing is built.
	ActionUnchanged = "unchanged"
)

// Step is what happens to one build: service.
type Step struct {
	Service string `json:"service"`
	Action  string `json:"action"`
	// Ref is repository:tag, the tag being the context's hash.
	Ref string `json:"ref"`
	// Digest is the image's manifest digest: known when unchanged, or
	// once pushed; "" in a dry run that would build.
	Digest string `json:"digest,omitempty"`

	ctx      *buildContext
	tag      name.Tag
	extraTag string
	b        *compose.Build
}

// Options of Images.
type Options struct {
	Stack    string
	Registry Registry
	// DryRun hashes and asks the registry, and builds nothing.
	DryRun bool
	// Out gets the plan: one line per build: service.
	Out io.Writer
	// Log gets the engine's build output.
	Log io.Writer
	// Engine connects to the Docker Engine; nil: Connect (DOCKER_HOST).
	Engine func(context.Context) (*client.Client, error)
	// Remote, when set, builds on a node of the Wharf server when Engine
	// finds no engine here: it uploads the context tar (POST /v1/builds),
	// copies the build's output to log and returns the pushed digest.
	Remote func(ctx context.Context, req api.BuildRequest, tar io.Reader, log io.Writer) (string, error)
}

// Images brings every build: service of st to an image in the built-in
// registry and sets its spec to run it: Image is repository:tag@digest
// and PullPolicy is build. So does a service without build: whose image:
// is the image: of a build: service. A context whose tag is in the registry builds
// nothing. In a dry run Image is repository:tag (with the digest when it
// is known) and nothing is built. The first failure stops it, before
// anything else is built, with the build's own message: nothing has been
// sent to the Wharf server then.
func Images(ctx context.Context, st *compose.Stack, o Options) ([]Step, error) {
	ropts, err := o.Registry.Options()
	if err != nil {
		return nil, err
	}
	ropts = append(ropts, remote.WithContext(ctx))
	var steps []Step
	for i := range st.Services {
		svc := &st.Services[i]
		if svc.Build == nil {
			continue
		}
		s := Step{Service: svc.Name, b: svc.Build}
		if s.ctx, err = hashContext(svc.Build); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		repo, extra, err := Repository(o.Registry, o.Stack, svc.Name, svc.Build)
		if err != nil {
			return nil, err
		}
		s.tag, s.extraTag = repo.Tag(s.ctx.Tag()), extra
		s.Ref = s.tag.String()
		desc, err := remote.Head(s.tag, ropts...)
		switch {
		case err == nil:
			s.Action, s.Digest = ActionUnchanged, desc.Digest.String()
		case notFound(err):
			s.Action = ActionBuild
		default:
			return nil, registryError(o.Registry, s.Ref, err)
		}
		steps = append(steps, s)
	}
	for _, s := range steps {
		if _, err := fmt.Fprintf(o.Out, "image %s: %s %s\n", s.Service, s.Action, s.Ref); err != nil {
			return nil, err
		}
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	var engine *client.Client
	onNode := false // no engine here: o.Remote builds
	for i := range steps {
		s := &steps[i]
		if o.DryRun {
			continue
		}
		switch {
		case s.Action == ActionUnchanged && s.extraTag != "":
			d, err := remote.Get(s.tag, ropts...)
			if err != nil {
				return nil, registryError(o.Registry, s.Ref, err)
			}
			if err := remote.Tag(s.tag.Context().Tag(s.extraTag), d, ropts...); err != nil {
				return nil, registryError(o.Registry, s.tag.Context().Tag(s.extraTag).String(), err)
			}
		case s.Action == ActionBuild:
			if engine == nil && !onNode {
				connect := o.Engine
				if connect == nil {
					connect = Connect
				}
				engine, err = connect(ctx)
				switch {
				case err != nil && o.Remote == nil:
					return nil, err
				case err != nil:
					onNode = true
					host := "DOCKER_HOST"
					if ne, ok := err.(*NoEngineError); ok && ne.Host != "" {
						host = ne.Host
					}
					fmt.Fprintf(log, "no Docker Engine here (%s): building on a node of the Wharf server; the build contexts are uploaded to it\n", host)
				default:
					defer engine.Close()
				}
			}
			if onNode {
				if s.Digest, err = remoteBuild(ctx, s, o, ropts, log); err != nil {
					return nil, err
				}
			} else {
				if err := buildImage(ctx, engine, s, log); err != nil {
					return nil, err
				}
				if s.Digest, err = push(ctx, engine, s, o.Registry, ropts, log); err != nil {
					return nil, err
				}
			}
			if _, err := fmt.Fprintf(o.Out, "image %s: pushed %s@%s\n", s.Service, s.Ref, s.Digest); err != nil {
				return nil, err
			}
		}
	}
	byName, byImage := map[string]Step{}, map[string]Step{}
	for _, s := range steps {
		byName[s.Service] = s
		if s.b.Image != "" {
			byImage[s.b.Image] = s
		}
	}
	for i := range st.Services {
		svc := &st.Services[i]
		s, ok := byName[svc.Name]
		if !ok && svc.Build == nil && svc.Spec.Image != "" {
			// A service without build: that names the image another
			// one builds runs what that one built, as in Compose.
			s, ok = byImage[svc.Spec.Image]
		}
		if !ok {
			continue
		}
		svc.Spec.Image = s.Ref
		if s.Digest != "" {
			svc.Spec.Image += "@" + s.Digest
		}
		svc.Spec.PullPolicy = api.PullBuild
	}
	return steps, nil
}
