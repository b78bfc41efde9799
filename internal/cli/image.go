package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the images of the server's built-in registry",
		Long: `The server runs a registry of its own on its API address (see 'wharf image ls'
for its host). Push with the stock docker CLI:

    docker login HOST -u anything -p <a Wharf API token>
    docker tag app HOST/<organization>/app:v1
    docker push HOST/<organization>/app:v1

The first path element is the organization; roles decide who may pull, push
and remove (registry access of the teams, narrowed by the token's role).`,
	}
	cmd.AddCommand(imageLs(g), imageRm(g), imageGC(g))
	return cmd
}

func imageLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List the organization's repositories and tags, with digest and size", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.Images(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(list))
			for _, im := range list {
				tag, size := im.Tag, "-"
				if tag == "" {
					tag = "<none>"
				}
				if im.Size > 0 {
					size = humanBytes(im.Size)
				}
				rows = append(rows, row{id: im.Repository + ":" + tag, obj: im, cells: []string{im.Repository, tag, im.Digest, size}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"REPOSITORY", "TAG", "DIGEST", "SIZE"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func imageRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm REPOSITORY:TAG|REPOSITORY@DIGEST...",
		Short: "Remove tags or manifests (their layers go at the next 'wharf image gc')",
		Long: `Remove an image from the built-in registry. REPOSITORY is <organization>/<name>
as 'wharf image ls' shows it. REPOSITORY:TAG removes the tag, and its manifest
when no other tag points at it; REPOSITORY@DIGEST removes the manifest and
every tag pointing at it. Needs registry admin access.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "image", args, func(ref string) (string, error) {
				return ref, c.RemoveImage(cmd.Context(), ref)
			})
		},
	}
}

func imageGC(g *globals) *cobra.Command {
	var untagged bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove the registry's unreferenced layers (server administrators)",
		Long: `Collect the built-in registry's garbage: the blobs (layers, configs) that no
manifest references any more, of every organization. With --untagged, the
manifests that no tag points at go too (a service pinned to such a digest can
then no longer be pulled on a new node). Pushes wait while it runs; it refuses
to start within a minute of the last push (whose layers no manifest references
until its manifest arrives).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.CollectImageGarbage(cmd.Context(), untagged)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "removed %d of %d blobs (%d left)\n", res.BlobsBefore-res.BlobsAfter, res.BlobsBefore, res.BlobsAfter)
			return nil
		},
	}
	cmd.Flags().BoolVar(&untagged, "untagged", false, "also remove the manifests no tag points at")
	return cmd
}

// humanBytes is n in B, KB, MB or GB (powers of 1000, as docker shows).
func humanBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	s := fmt.Sprintf("%.3g", f)
	return strings.TrimSuffix(s, ".0") + units[i]
}
