package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

// Version and Commit are set at build time with -ldflags -X; when they are
// not, the module's build info fills in what it can.
var (
	Version = "dev"
	Commit  = ""
)

// BuildVersion describes this binary.
func BuildVersion() api.Version {
	v := api.Version{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && v.Commit == "" {
				v.Commit = s.Value
			}
			if s.Key == "vcs.modified" && s.Value == "true" && v.Commit != "" {
				v.Commit += "-dirty"
			}
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func newVersionCmd(g *globals) *cobra.Command {
	var server bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version (of the server too with --server)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := BuildVersion()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wharf %s (commit %s, %s)\n", v.Version, v.Commit, v.GoVersion)
			if !server {
				return nil
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			sv, err := c.Version(cmd.Context())
			if err != nil {
				return err
			}
			say(out, "server %s (commit %s, %s)\n", sv.Version, sv.Commit, sv.GoVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&server, "server", false, "also ask the server")
	return cmd
}
