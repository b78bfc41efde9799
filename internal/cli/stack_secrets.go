package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/compose"
)

// deploySecrets makes the stack's secrets exist before its deploy: a
// missing one is created from its file or variable; one that exists keeps
// its value (the server shows no digest to compare with), or gets the new
// one with update (which redeploys its services). An external secret
// must exist. A dry run only says what it would do.
func deploySecrets(cmd *cobra.Command, c *client.Client, st *compose.Stack, dryRun, update bool) error {
	for _, s := range st.Secrets {
		_, err := c.Secret(cmd.Context(), s.WharfName)
		exists := err == nil
		if err != nil && !client.IsCode(err, api.CodeNotFound) {
			return fmt.Errorf("secret %s: %w", s.WharfName, err)
		}
		switch {
		case s.External && !exists:
			return fmt.Errorf("external secret %s (%s) does not exist: create it with wharf secret create %s", s.Name, s.WharfName, s.WharfName)
		case s.External:
			continue
		case exists && !update:
			say(cmd.ErrOrStderr(), "secret %s exists; its value is kept (--update-secrets replaces it)\n", s.WharfName)
			continue
		}
		data, err := s.Value()
		if err != nil {
			return err
		}
		switch {
		case dryRun && exists:
			say(cmd.ErrOrStderr(), "secret %s would be updated\n", s.WharfName)
		case dryRun:
			say(cmd.ErrOrStderr(), "secret %s would be created\n", s.WharfName)
		case exists:
			if _, err := c.UpdateSecret(cmd.Context(), s.WharfName, data, 0); err != nil {
				return fmt.Errorf("secret %s: %w", s.WharfName, err)
			}
			say(cmd.ErrOrStderr(), "secret %s updated\n", s.WharfName)
		default:
			if _, err := c.CreateSecret(cmd.Context(), s.WharfName, data); err != nil {
				return fmt.Errorf("secret %s: %w", s.WharfName, err)
			}
			say(cmd.ErrOrStderr(), "secret %s created\n", s.WharfName)
		}
	}
	return nil
}
