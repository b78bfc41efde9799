package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	buildtypes "github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
)

// Connect connects to the Docker Engine of this machine (DOCKER_HOST, or
// the default socket) and negotiates the API version.
func Connect(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, noEngine(os.Getenv("DOCKER_HOST"), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, noEngine(cli.DaemonHost(), err)
	}
	return cli, nil
}

func noEngine(host string, err error) error {
	return fmt.Errorf("no Docker Engine here to build with (%s: %v): `wharf stack deploy` builds build: services with the Docker Engine of the machine it runs on; start one, or set DOCKER_HOST to an engine you can reach (building on a node is not supported yet)", host, err)
}

// buildImage builds s with the engine, tagged s.Ref there, streaming the
// engine's output to log. The classic builder needs no BuildKit session.
func buildImage(ctx context.Context, engine *client.Client, s *Step, log io.Writer) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.ctx.writeTar(pw)) }()
	args := make(map[string]*string, len(s.b.Args))
	for k, v := range s.b.Args {
		args[k] = &v
	}
	res, err := engine.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags: []string{s.Ref}, Dockerfile: s.ctx.dockerfile, BuildArgs: args, Target: s.b.Target,
		Remove: true, ForceRemove: true, Version: buildtypes.BuilderV1,
	})
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("build service %s: %w", s.Service, err)
	}
	defer res.Body.Close()
	if log == nil {
		log = io.Discard
	}
	if err := jsonmessage.DisplayJSONMessagesStream(res.Body, log, 0, false, nil); err != nil {
		return fmt.Errorf("build service %s failed: %w", s.Service, err)
	}
	return nil
}

// push exports the image the engine built and pushes it to the registry
// with the CLI's own TLS trust and token (the engine would trust the
// cluster CA only through /etc/docker/certs.d, and would need the token).
// It returns the manifest's digest.
func push(ctx context.Context, engine *client.Client, s *Step, reg Registry, ropts []remote.Option) (string, error) {
	f, err := os.CreateTemp("", "wharf-build-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	saved, err := engine.ImageSave(ctx, []string{s.Ref})
	if err != nil {
		return "", fmt.Errorf("export the image of service %s from the engine: %w", s.Service, err)
	}
	_, err = io.Copy(f, saved)
	saved.Close()
	if err != nil {
		return "", fmt.Errorf("export the image of service %s from the engine: %w", s.Service, err)
	}
	img, err := tarball.ImageFromPath(f.Name(), nil)
	if err != nil {
		return "", fmt.Errorf("read the image of service %s: %w", s.Service, err)
	}
	if err := remote.Write(s.tag, img, ropts...); err != nil {
		return "", registryError(reg, s.Ref, err)
	}
	if s.extraTag != "" {
		t := s.tag.Context().Tag(s.extraTag)
		if err := remote.Tag(t, img, ropts...); err != nil {
			return "", registryError(reg, t.String(), err)
		}
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}
