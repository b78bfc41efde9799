package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	enginepkg "github.com/wharfhq/wharf/internal/build/engine"
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

func noEngine(host string, err error) error { return &NoEngineError{Host: host, Err: err} }

// NoEngineError is Connect's failure: no engine answers at Host.
type NoEngineError struct {
	Host string
	Err  error
}

func (e *NoEngineError) Error() string {
	return fmt.Sprintf("no Docker Engine here to build with (%s: %v): `wharf stack deploy` builds build: services with the Docker Engine of the machine it runs on, or on a node of the server whose agent allows builds; start one, or set DOCKER_HOST to an engine you can reach", e.Host, e.Err)
}

func (e *NoEngineError) Unwrap() error { return e.Err }

// buildImage builds s with the engine, tagged s.Ref there, streaming the
// engine's output to log.
func buildImage(ctx context.Context, engine *client.Client, s *Step, log io.Writer) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.ctx.writeTar(pw)) }()
	err := enginepkg.Build(ctx, engine, pr, s.Ref, s.ctx.dockerfile, s.b.Target, s.b.Args, log)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("build service %s failed: %w", s.Service, err)
	}
	return nil
}

// push exports the image the engine built and pushes it to the registry
// with the CLI's own TLS trust and token (the engine would trust the
// cluster CA only through /etc/docker/certs.d, and would need the token).
// It returns the manifest's digest.
func push(ctx context.Context, engine *client.Client, s *Step, reg Registry, ropts []remote.Option, log io.Writer) (string, error) {
	return enginepkg.Push(ctx, engine, s.tag, s.extraTag, s.Service, reg, ropts, log)
}
