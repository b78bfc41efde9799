package cli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// containerView is a container as lists print it: the object plus its
// state and node (its ID) at the top level, and the node's name. A
// --format template's {{.Node}} is the node's name, as the table's NODE
// column; {{.node}} its ID, as in JSON.
type containerView struct {
	api.Container
	State    string `json:"state"`
	Node     string `json:"node"`
	NodeName string `json:"node_name,omitempty"`
	// Error is the last failure's error (ContainerStatus.LastError).
	Error string `json:"error"`
}

func newContainerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "container", Short: "Inspect containers (the slots of services)"}
	cmd.AddCommand(containerLs(g), containerInspect(g), containerLogs(g), containerExec(g))
	return cmd
}

func containerLs(g *globals) *cobra.Command {
	var (
		f       listFlags
		service string
	)
	cmd := &cobra.Command{
		Use: "ls", Short: "List containers", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listContainers(cmd, g, f, service)
		},
	}
	addListFlags(cmd, &f, "state", "node")
	cmd.Flags().StringVar(&service, "service", "", "only this service's containers")
	return cmd
}

func listContainers(cmd *cobra.Command, g *globals, f listFlags, service string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	cts, err := c.Containers(cmd.Context(), service, "")
	if err != nil {
		return err
	}
	nodes, err := c.Nodes(cmd.Context())
	if err != nil {
		return err
	}
	nodeName := map[string]string{}
	for _, n := range nodes {
		nodeName[n.ID] = n.Name
	}
	return printList(cmd.OutOrStdout(), f, containerHeader(false), containerRows(cts, "", nodeName))
}

// containerHeader is the header of containerRows' table, with a SERVICE
// column when the rows were made with a service name.
func containerHeader(withService bool) []string {
	h := []string{"ID", "NAME"}
	if withService {
		h = append(h, "SERVICE")
	}
	return append(h, "STATE", "DESIRED", "NODE", "ADDRESS", "PORT", "EXIT", "STARTED", "ERROR")
}

// containerRows are the rows of containers, sorted by service and slot.
// When a slot has two containers (a move, a start-first update), the one
// that stays (not being removed, else the newest) comes first, its name
// marked "(new)", and the others "(old)".
func containerRows(cts []api.Container, service string, nodeName map[string]string) []row {
	cts = slices.Clone(cts)
	slices.SortStableFunc(cts, func(a, b api.Container) int {
		return cmp.Or(strings.Compare(a.Spec.Service, b.Spec.Service), cmp.Compare(a.Spec.Slot, b.Spec.Slot),
			cmp.Compare(staysRank(b), staysRank(a)), b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	rows := make([]row, 0, len(cts))
	for i, ct := range cts {
		r := containerRow(ct, service, nodeName)
		sameSlot := func(j int) bool {
			return j >= 0 && j < len(cts) && cts[j].Spec.Service == ct.Spec.Service && cts[j].Spec.Slot == ct.Spec.Slot
		}
		switch {
		case sameSlot(i - 1):
			r.cells[1] += " (old)"
		case sameSlot(i + 1):
			r.cells[1] += " (new)"
		}
		rows = append(rows, r)
	}
	return rows
}

// staysRank is 1 for a container that is not being removed.
func staysRank(c api.Container) int {
	if c.Spec.Desired == api.ContainerTerminated {
		return 0
	}
	return 1
}

// containerRow is a container as the lists print it: ID, NAME, (SERVICE
// when service is not ""), STATE, DESIRED, NODE (its name when known),
// ADDRESS (its first network address), PORT, EXIT, STARTED, ERROR (the last failure's error, shortened, as
// docker service ps shows it; the whole of it is in container inspect).
func containerRow(ct api.Container, service string, nodeName map[string]string) row {
	node := ct.Spec.Node
	if n := nodeName[node]; n != "" {
		node = n
	}
	port := "-"
	if ct.Status.HostPort != 0 {
		port = strconv.Itoa(ct.Status.HostPort)
	}
	exit := "-"
	if ct.Status.ExitCode != nil {
		exit = strconv.Itoa(*ct.Status.ExitCode)
	}
	cells := []string{ct.ID, ct.Name}
	if service != "" {
		cells = append(cells, service)
	}
	cells = append(cells, ct.Status.DisplayState(), string(ct.Spec.Desired), orDash(node), containerAddress(ct), port, exit, ago(ct.Status.StartedAt),
		shortError(ct))
	match := map[string][]string{"node": {node}}
	if service != "" {
		match["service"] = []string{service}
	}
	var name string
	if n := nodeName[ct.Spec.Node]; n != "" {
		name = n
	}
	return row{id: ct.ID, obj: containerView{ct, string(ct.Status.State), ct.Spec.Node, name, ct.Status.LastError()}, cells: cells, match: match,
		goNames: map[string]any{"Node": cmp.Or(name, ct.Spec.Node)}}
}

// errorWidth is how much of an error the lists show.
const errorWidth = 80

// shortError is a container's last error as the tables show it: without
// what the row says already (the driver's "exec driver: start <ID>: "
// prefix) nor the advice after "; ", cut to errorWidth. The whole error
// is in --format json and container inspect.
func shortError(ct api.Container) string {
	e := ct.Status.LastError()
	if e == "" {
		return ""
	}
	e = strings.Replace(e, ct.Spec.Driver+" driver: start "+ct.ID+": ", "", 1)
	if i := strings.Index(e, "; "); i > 0 {
		e = e[:i]
	}
	return truncate(e, errorWidth)
}

func containerInspect(g *globals) *cobra.Command {
	return inspectCmd(g, "CONTAINER", "container", (*client.Client).Container)
}

func containerLogs(g *globals) *cobra.Command {
	return logsCmd(g, "containers", "logs CONTAINER", "Print a container's output")
}

func serviceLogs(g *globals) *cobra.Command {
	return logsCmd(g, "services", "logs SERVICE", "Print the output of every container of a service, each line prefixed with its container")
}

func logsCmd(g *globals, kind, use, short string) *cobra.Command {
	var (
		follow bool
		tail   int
		raw    bool
	)
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			body, err := c.Stream(cmd.Context(), client.LogsPath(kind, args[0], follow, tail), nil)
			if err != nil {
				return err
			}
			defer func() { _ = body.Close() }()
			_, err = io.Copy(payloadWriter(cmd.OutOrStdout(), raw), body)
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming new output")
	cmd.Flags().IntVar(&tail, "tail", 0, "only the last N lines")
	cmd.Flags().BoolVar(&raw, "raw", false, "print the output's bytes as they are, terminal control sequences included (by default they are shown escaped, such as \\x1b, when printing to a terminal)")
	return cmd
}

// containerExec is `wharf container exec NAME -- CMD ARGS`: it prints the
// command's output and exits with its exit code.
func containerExec(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "exec CONTAINER -- CMD [ARGS...]",
		Short: "Run a command in a running container and print its output (admin tokens)",
		Example: `  wharf container exec web-1 -- ls -l
  wharf container exec web-1 -- sh -c 'echo $PORT'`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Exec(cmd.Context(), args[0], args[1:])
			if err != nil {
				return fmt.Errorf("container %s: %w", args[0], err)
			}
			_, _ = io.WriteString(payloadWriter(cmd.OutOrStdout(), false), res.Output)
			if res.ExitCode != 0 {
				os.Exit(min(max(res.ExitCode, 1), 255)) // the command's own code
			}
			return nil
		},
	}
}
