package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/build"
	"github.com/wharfhq/wharf/internal/compose"
)

// hasBuilds says whether any service of st has a build: section.
func hasBuilds(st *compose.Stack) bool {
	for _, s := range st.Services {
		if s.Build != nil {
			return true
		}
	}
	return false
}

// buildImages builds and pushes the images of st's build: services to the
// server's built-in registry (see package build), printing one line per
// image, and sets their specs to the pushed digests. It reads from the
// server (where the registry is, who the caller is) and changes nothing
// there.
func buildImages(cmd *cobra.Command, g *globals, c *client.Client, st *compose.Stack, stack string, dryRun bool) error {
	o, err := g.resolve()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var info api.RegistryInfo
	if err := c.Do(ctx, http.MethodGet, "/v1/registry", nil, &info); err != nil {
		if client.IsCode(err, api.CodeNotFound) {
			return fmt.Errorf("the server has no built-in registry to push built images to (GET /v1/registry: %w); upgrade it, or build and push the images yourself and name them with image: instead of build", err)
		}
		return fmt.Errorf("find the built-in registry: %w", err)
	}
	if info.Host == "" {
		return fmt.Errorf("the server names no built-in registry (GET /v1/registry gave no host)")
	}
	me, err := c.Me(ctx)
	if err != nil {
		return err
	}
	reg := build.Registry{
		Host: info.Host, Org: me.Org, Username: cmp.Or(me.User, me.Name), Password: o.Token, CACert: o.CACert,
		AllowHTTP: strings.HasPrefix(o.Addr, "http://"),
	}
	_, err = build.Images(ctx, st, build.Options{
		Stack: stack, Registry: reg, DryRun: dryRun, Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr(),
		Remote: func(ctx context.Context, req api.BuildRequest, tar io.Reader, log io.Writer) (string, error) {
			res, err := c.Build(ctx, req, tar, log)
			if client.IsCode(err, api.CodeNotFound) {
				return "", fmt.Errorf("no Docker Engine here to build with, and the server cannot build on a node (POST /v1/builds: %w): start a Docker Engine here or set DOCKER_HOST to one, or upgrade the server", err)
			}
			return res.Digest, err
		},
	})
	return err
}
