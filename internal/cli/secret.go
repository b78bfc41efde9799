package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

func newSecretCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Manage secrets (values are never shown again after they are sent)"}
	cmd.AddCommand(secretCreate(g), secretUpdate(g), secretLs(g), secretInspect(g), secretRm(g))
	return cmd
}

// readSecretValue reads a secret's value from file, or from standard
// input when file is "" or "-". It never echoes it.
func readSecretValue(cmd *cobra.Command, file string) ([]byte, error) {
	var r io.Reader = cmd.InOrStdin()
	name := "standard input"
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, file
	}
	b, err := io.ReadAll(io.LimitReader(r, api.MaxSecretSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the secret from %s: %w", name, err)
	case len(b) > api.MaxSecretSize:
		return nil, fmt.Errorf("the secret in %s is larger than %d bytes (500 KiB)", name, api.MaxSecretSize)
	case len(b) == 0:
		return nil, fmt.Errorf("the secret in %s is empty", name)
	}
	return b, nil
}

func secretCreate(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create NAME [-f FILE|-]",
		Short: "Store a secret read from a file or standard input",
		Long: `Store a secret, read from FILE or, without -f or with -f -, from standard input
(as it is: a trailing newline is part of the value). Services use it with
--secret NAME; their containers find it read-only at /run/secrets/NAME (docker
driver) or $WHARF_SECRETS_DIR/NAME (exec driver).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readSecretValue(cmd, file)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.CreateSecret(cmd.Context(), args[0], data)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", s.ID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the value from this file (- or none: standard input)")
	return cmd
}

func secretUpdate(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "update SECRET [-f FILE|-]",
		Short: "Replace a secret's value; the services that use it are redeployed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readSecretValue(cmd, file)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.UpdateSecret(cmd.Context(), args[0], data, 0)
			if err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "secret %s is at version %d\n", s.Name, s.Version)
			say(cmd.OutOrStdout(), "%s\n", s.ID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the value from this file (- or none: standard input)")
	return cmd
}

func secretLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List secrets (names and metadata, never values)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.Secrets(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(list))
			for _, s := range list {
				rows = append(rows, row{id: s.ID, obj: s, cells: []string{s.ID, s.Name, fmt.Sprint(s.Size), fmt.Sprint(s.Version), ago(s.CreatedAt), ago(s.UpdatedAt)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"ID", "NAME", "SIZE", "VERSION", "CREATED", "UPDATED"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func secretInspect(g *globals) *cobra.Command {
	return inspectCmd(g, "SECRET", "secret", (*client.Client).Secret)
}

func secretRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm SECRET...", Short: "Remove secrets that no service uses", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "secret", args, func(ref string) (string, error) {
				return ref, c.RemoveSecret(cmd.Context(), ref)
			})
		},
	}
}

// parseSecretRef reads SOURCE[,target=FILE][,mode=0400] (also
// source=SOURCE, as docker's --secret takes it).
func parseSecretRef(s string) (api.SecretRef, error) {
	var ref api.SecretRef
	for i, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		switch {
		case !ok && i == 0:
			ref.Source = part
		case k == "source" || k == "src":
			ref.Source = v
		case k == "target":
			ref.Target = v
		case k == "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return ref, fmt.Errorf("%q: mode must be octal, e.g. 0400 or 0444", s)
			}
			ref.Mode = uint32(m)
		default:
			return ref, fmt.Errorf("%q: want SOURCE[,target=FILE][,mode=0400]", s)
		}
	}
	if ref.Source == "" {
		return ref, fmt.Errorf("%q: names no secret", s)
	}
	return ref, nil
}
