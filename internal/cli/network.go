package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

func newNetworkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Manage the organization's private networks (services join them with --network)"}
	cmd.AddCommand(networkCreate(g), networkLs(g), networkInspect(g), networkRm(g))
	return cmd
}

func networkCreate(g *globals) *cobra.Command {
	var subnet string
	cmd := &cobra.Command{
		Use:   "create NAME --subnet CIDR",
		Short: "Create a private network on a subnet of your choice",
		Long: `Create a private network of the organization on an IPv4 subnet (/8 to /29)
that overlaps none of its other networks; the default network is 10.7.0.0/16.
Services join it with --network NAME (a compose file: networks:); each of their
containers gets an address on it that stays with its slot.`,
		Example: "  wharf network create backend --subnet 10.8.0.0/16",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			n, err := c.CreateNetwork(cmd.Context(), args[0], subnet)
			if err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "network %s: %s, gateway %s, VXLAN ID %d\n", n.Name, n.Subnet, n.Gateway, n.VNI)
			say(cmd.OutOrStdout(), "%s\n", n.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&subnet, "subnet", "", "the network's IPv4 subnet, such as 10.8.0.0/16 (required)")
	_ = cmd.MarkFlagRequired("subnet")
	return cmd
}

func networkLs(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List the organization's networks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.Networks(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(list))
			for _, n := range list {
				rows = append(rows, row{id: n.ID, obj: n, cells: []string{n.Name, n.Subnet, n.Gateway, strconv.Itoa(n.VNI), strconv.Itoa(n.Addresses)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"NAME", "SUBNET", "GATEWAY", "VNI", "ADDRESSES"}, rows)
		},
	}
	addListFlags(cmd, &f)
	return cmd
}

func networkInspect(g *globals) *cobra.Command {
	return inspectCmd(g, "NETWORK", "network", (*client.Client).Network)
}

func networkRm(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rm NETWORK...", Short: "Remove networks that no service joins", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return eachArg(cmd, "network", args, func(ref string) (string, error) {
				return ref, c.RemoveNetwork(cmd.Context(), ref)
			})
		},
	}
}

// containerAddress is a container's first network address, as the
// container lists show it ("-" before it has one).
func containerAddress(ct api.Container) string {
	for _, a := range ct.Spec.Networks {
		if a.IP != "" {
			return a.IP
		}
	}
	return "-"
}
