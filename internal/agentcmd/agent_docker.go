package agentcmd

import (
	"context"
	"log/slog"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
)

// dockerDriver connects to the Docker Engine at host ("" for DOCKER_HOST or
// the local socket); it fails when no engine answers.
func dockerDriver(ctx context.Context, host string, log *slog.Logger) (runtime.Driver, error) {
	d, err := docker.New(ctx, docker.Options{Host: host, Logger: log})
	if err != nil {
		return nil, err
	}
	return d, nil
}
