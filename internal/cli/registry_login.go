package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// The registry commands: the organization's credentials for the
// registries its images come from.

func newRegistryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "Manage the organization's registry credentials (passwords are never shown)"}
	cmd.AddCommand(registryLogin(g), registryLogout(g), registryLs(g))
	return cmd
}

// maxPasswordInput bounds the password read from standard input.
const maxPasswordInput = 16 << 10

func registryLogin(g *globals) *cobra.Command {
	var user string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "login HOST -u USER [--password-stdin]",
		Short: "Store the organization's credential for a registry (its nodes pull with it)",
		Long: `Store the organization's credential for the registry HOST (host or host:port;
docker.io for Docker Hub), replacing any it had. The password (or access token)
is read from standard input, one line; --password-stdin says so explicitly, as
docker login takes it. It is stored encrypted, used by the server to resolve
image tags to digests, and sent only to the nodes that pull an image from HOST.
Needs the registry admin permission of the organization.`,
		Example: `  echo "$TOKEN" | wharf registry login registry.example.com:5000 -u ci --password-stdin`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if user == "" {
				return fmt.Errorf("a user is required: wharf registry login %s -u USER --password-stdin", args[0])
			}
			_ = stdin // the password is always read from standard input, never from a flag
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.RegistryLogin(cmd.Context(), args[0], user, pw)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "credential for %s (user %s) stored\n", l.Host, l.Username)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name at the registry")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input (the only way it is read)")
	return cmd
}

// readPassword reads one line from r, without its line end.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordInput+1)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	switch {
	case len(pw) > maxPasswordInput:
		return "", fmt.Errorf("the password on standard input is over %d bytes", maxPasswordInput)
	case pw == "":
		return "", fmt.Errorf("no password on standard input: pipe it in, e.g. echo \"$TOKEN\" | wharf registry login HOST -u USER --password-stdin")
	}
	return pw, nil
}

func registryLogout(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "logout HOST", Short: "Remove the organization's credential for a registry", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.RegistryLogout(cmd.Context(), args[0]); err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "credential for %s removed\n", args[0])
			return nil
		},
	}
}

func registryLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List the organization's registry credentials (hosts and users, never passwords)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.RegistryLogins(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(list))
			for _, l := range list {
				rows = append(rows, row{id: l.Host, obj: l, cells: []string{l.Host, l.Username, ago(l.UpdatedAt)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"HOST", "USER", "UPDATED"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}
