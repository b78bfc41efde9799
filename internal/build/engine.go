package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	err := engineBuild(ctx, engine, pr, s.Ref, s.ctx.dockerfile, s.b.Target, s.b.Args, log)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("build service %s failed: %w", s.Service, err)
	}
	return nil
}

// engineBuild builds the context tar with the engine, tagged ref there,
// streaming the engine's output to log. The classic builder needs no
// BuildKit session.
func engineBuild(ctx context.Context, engine *client.Client, tar io.Reader, ref, dockerfile, target string, buildArgs map[string]string, log io.Writer) error {
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

// push exports the image the engine built and pushes it to the registry
// with the CLI's own TLS trust and token (the engine would trust the
// cluster CA only through /etc/docker/certs.d, and would need the token).
// It returns the manifest's digest.
func push(ctx context.Context, engine *client.Client, s *Step, reg Registry, ropts []remote.Option, log io.Writer) (string, error) {
	return pushImage(ctx, engine, s.tag, s.extraTag, s.Service, reg, ropts, log)
}

// pushImage pushes the engine's image tag to the registry (and tags it
// extraTag there too, when set); what names it in messages.
func pushImage(ctx context.Context, engine *client.Client, tag name.Tag, extraTag, what string, reg Registry, ropts []remote.Option, log io.Writer) (string, error) {
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
		return "", registryError(reg, tag.String(), err)
	}
	if extraTag != "" {
		t := tag.Context().Tag(extraTag)
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
