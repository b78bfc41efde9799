package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// lineReader reads answers from standard input, one line each.
type lineReader struct{ r *bufio.Reader }

func newLineReader(cmd *cobra.Command) *lineReader {
	return &lineReader{r: bufio.NewReader(cmd.InOrStdin())}
}

// ask prints a prompt on stderr (when stdin is a terminal) and reads a line.
func (l *lineReader) ask(cmd *cobra.Command, prompt string) (string, error) {
	if f, ok := cmd.InOrStdin().(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			say(cmd.ErrOrStderr(), "%s", prompt)
		}
	}
	s, err := l.r.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || s == "") {
		return "", fmt.Errorf("read %s from standard input: %w", strings.TrimSuffix(strings.TrimSpace(prompt), ":"), err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// askSecret reads a secret line: from a terminal without echoing it (the
// prompt on stderr), else as ask does.
func (l *lineReader) askSecret(cmd *cobra.Command, prompt string) (string, error) {
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return l.ask(cmd, prompt)
	}
	say(cmd.ErrOrStderr(), "%s", prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	say(cmd.ErrOrStderr(), "\n")
	if err != nil {
		return "", fmt.Errorf("read %s from the terminal: %w", strings.TrimSuffix(strings.TrimSpace(prompt), ":"), err)
	}
	return string(b), nil
}

// anonClient is a client without a token (for login).
func (g *globals) anonClient() (*client.Client, client.Options, error) {
	o, err := g.resolve()
	if err != nil {
		return nil, o, err
	}
	o.Token = ""
	c, err := client.New(o)
	return c, o, err
}

func newLoginCmd(g *globals) *cobra.Command {
	var (
		user    string
		pwStdin bool
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with a user name and password; the token (30 days) goes into the client config",
		Long: `Trade a user name and password for an API token that acts as the user for 30
days, and store it in the client config, where every next wharf command finds
it. The password is read from standard input (one line); with a terminal it is
prompted for. --password-stdin reads it from a pipe without any prompt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := newLineReader(cmd)
			var err error
			if user == "" {
				if pwStdin {
					return errors.New("--password-stdin needs --user")
				}
				if user, err = in.ask(cmd, "User: "); err != nil {
					return err
				}
			}
			pw, err := in.askSecret(cmd, "Password: ")
			if err != nil {
				return err
			}
			c, o, err := g.anonClient()
			if err != nil {
				return err
			}
			tc, err := c.Login(cmd.Context(), user, pw)
			if err != nil {
				return err
			}
			cfg, err := LoadConfig()
			if err != nil {
				return err
			}
			cfg.Addr, cfg.Token = o.Addr, tc.Secret
			if ca := cmpOr(g.cacert, os.Getenv("WHARF_CACERT")); ca != "" {
				cfg.CACert = ca
			}
			p, err := SaveConfig(cfg)
			if err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "logged in as %s until %s; token saved in %s\n", tc.User, tc.ExpiresAt.Local().Format("2006-01-02 15:04"), p)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name (prompted for when not given)")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input, without a prompt")
	return cmd
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "logout", Short: "Revoke the token of the client config and forget it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := LoadConfig()
			if err != nil {
				return err
			}
			if cfg.Token == "" {
				say(cmd.ErrOrStderr(), "not logged in\n")
				return nil
			}
			if c, err := g.client(); err == nil {
				if me, err := c.Me(cmd.Context()); err == nil && me.User != "" && me.Token != "" {
					if err := c.RemoveToken(cmd.Context(), me.Token); err != nil {
						say(cmd.ErrOrStderr(), "could not revoke the token on the server: %v\n", err)
					}
				}
			}
			cfg.Token = ""
			if _, err := SaveConfig(cfg); err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "logged out\n")
			return nil
		},
	}
}

func newWhoamiCmd(g *globals) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use: "whoami", Short: "Who the token acts as, in which organization, with what access", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			me, err := c.Me(cmd.Context())
			if err != nil {
				return err
			}
			if f.format == "json" {
				return printJSON(cmd.OutOrStdout(), me)
			}
			w := cmd.OutOrStdout()
			who := me.Name
			if me.User == "" {
				who = "token " + me.Name + " (of no user)"
			}
			say(w, "%s\norganization: %s\naccess: %s\n", who, me.Org, accessString(me.Access))
			if me.Role != "" && me.Role != api.RoleAdmin {
				say(w, "token role: %s\n", me.Role)
			}
			if me.ServerAdmin {
				say(w, "server administrator: yes\n")
			}
			for _, m := range me.Orgs {
				say(w, "member of %s (teams %s)\n", m.Org, strings.Join(m.Teams, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "", "output: text (default) or json")
	return cmd
}

// accessString is "applications=admin nodes=read ..." in a fixed order.
func accessString(m map[string]string) string {
	var parts []string
	for _, a := range []string{"applications", "nodes", "secrets", "registry", "organization", "server"} {
		if v, ok := m[a]; ok && v != "none" {
			parts = append(parts, a+"="+v)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// parseAccess reads AREA=LEVEL arguments.
func parseAccess(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: want AREA=LEVEL, such as applications=read-write", a)
		}
		out[k] = v
	}
	return out, nil
}

func newOrgCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Organizations: list, make, inspect, remove, quotas, and the current one"}
	var f listFlags
	ls := &cobra.Command{
		Use: "ls", Short: "List the organizations you may see", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			orgs, err := c.Orgs(cmd.Context())
			if err != nil {
				return err
			}
			cur, _ := g.resolve()
			rows := make([]row, 0, len(orgs))
			for _, o := range orgs {
				mark := ""
				if o.ID == cur.Org {
					mark = "*"
				}
				rows = append(rows, row{id: o.ID, obj: o, cells: []string{o.ID + mark, quota(o.Quotas.Containers), quota(o.Quotas.Nodes), quotaF(o.Quotas.TokenRate), ago(o.CreatedAt)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"NAME", "CONTAINERS", "NODES", "TOKEN RATE", "AGE"}, rows)
		},
	}
	addListFlags(ls, &f)
	var owner string
	create := &cobra.Command{
		Use: "create NAME --owner USER", Short: "Make an organization with USER in its owners team (server administrators)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			o, err := c.CreateOrg(cmd.Context(), args[0], owner)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", o.ID)
			return nil
		},
	}
	create.Flags().StringVar(&owner, "owner", "", "the user who owns it")
	inspect := &cobra.Command{
		Use: "inspect NAME", Short: "Show an organization", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			o, err := c.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), o)
		},
	}
	rm := &cobra.Command{
		Use: "rm NAME", Short: "Remove an empty organization, its teams and tokens (server administrators)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteOrg(cmd.Context(), args[0]); err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", args[0])
			return nil
		},
	}
	var q api.Quotas
	quotaCmd := &cobra.Command{
		Use: "quota NAME [--containers N] [--nodes N] [--token-rate R]", Short: "Show or set an organization's quotas (0: no limit; setting: server administrators)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			o, err := c.Org(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("containers") || fl.Changed("nodes") || fl.Changed("token-rate") {
				nq := o.Quotas
				if fl.Changed("containers") {
					nq.Containers = q.Containers
				}
				if fl.Changed("nodes") {
					nq.Nodes = q.Nodes
				}
				if fl.Changed("token-rate") {
					nq.TokenRate = q.TokenRate
				}
				if o, err = c.SetQuotas(cmd.Context(), args[0], nq); err != nil {
					return err
				}
			}
			say(cmd.OutOrStdout(), "containers: %s\nnodes: %s\ntoken rate: %s\n", quota(o.Quotas.Containers), quota(o.Quotas.Nodes), quotaF(o.Quotas.TokenRate))
			return nil
		},
	}
	quotaCmd.Flags().IntVar(&q.Containers, "containers", 0, "most containers")
	quotaCmd.Flags().IntVar(&q.Nodes, "nodes", 0, "most nodes")
	quotaCmd.Flags().Float64Var(&q.TokenRate, "token-rate", 0, "most API calls per second per token")
	use := &cobra.Command{
		Use: "use NAME", Short: "Make NAME the current organization of the client config (\"\" to unset)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "" {
				g.org = args[0]
				c, err := g.client()
				if err != nil {
					return err
				}
				if _, err := c.Org(cmd.Context(), args[0]); err != nil {
					return err
				}
			}
			cfg, err := LoadConfig()
			if err != nil {
				return err
			}
			cfg.Org = args[0]
			if _, err := SaveConfig(cfg); err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "current organization: %s\n", cmpOr(args[0], "(the token's own)"))
			return nil
		},
	}
	cmd.AddCommand(ls, create, inspect, rm, quotaCmd, use)
	return cmd
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// quota shows a quota, "-" for none.
func quota[T int | int64](n T) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(int64(n), 10)
}

func quotaF(f float64) string {
	if f == 0 {
		return "-"
	}
	return strconv.FormatFloat(f, 'g', -1, 64) + "/s"
}

func newTeamCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "team", Short: "Teams of the current organization: access per area, members"}
	var f listFlags
	ls := &cobra.Command{
		Use: "ls", Short: "List the teams of the organization", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			teams, err := c.Teams(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(teams))
			for _, t := range teams {
				rows = append(rows, row{id: t.ID, obj: t, cells: []string{t.Name, accessString(t.Access), strings.Join(t.Members, ",")}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"NAME", "ACCESS", "MEMBERS"}, rows)
		},
	}
	addListFlags(ls, &f)
	var members []string
	create := &cobra.Command{
		Use: "create NAME [AREA=LEVEL...] [--member USER...]", Short: "Make a team (organization owners)", Args: cobra.MinimumNArgs(1),
		Long: "Areas: applications, nodes, secrets, registry, organization. Levels: none, read, read-write, admin.",
		RunE: func(cmd *cobra.Command, args []string) error {
			acc, err := parseAccess(args[1:])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			req := api.TeamRequest{Name: args[0], Access: acc}
			if len(members) > 0 {
				req.Members = &members
			}
			t, err := c.CreateTeam(cmd.Context(), req)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", t.ID)
			return nil
		},
	}
	create.Flags().StringSliceVar(&members, "member", nil, "a user to put in it (repeatable)")
	rm := &cobra.Command{
		Use: "rm TEAM...", Short: "Remove teams and their robot tokens (organization owners)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, t := range args {
				if err := c.DeleteTeam(cmd.Context(), t); err != nil {
					return fmt.Errorf("team %s: %w", t, err)
				}
				say(cmd.OutOrStdout(), "%s\n", t)
			}
			return nil
		},
	}
	memberCmd := func(use, short string, op func(c *client.Client, cmd *cobra.Command, team, user string) (api.Team, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " TEAM USER...", Short: short, Args: cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var t api.Team
				for _, u := range args[1:] {
					if t, err = op(c, cmd, args[0], u); err != nil {
						return fmt.Errorf("user %s: %w", u, err)
					}
				}
				say(cmd.OutOrStdout(), "%s: %s\n", t.Name, strings.Join(t.Members, ", "))
				return nil
			},
		}
	}
	add := memberCmd("add", "Put users in a team (organization owners)", func(c *client.Client, cmd *cobra.Command, team, user string) (api.Team, error) {
		return c.AddMember(cmd.Context(), team, user)
	})
	remove := memberCmd("remove", "Take users out of a team (organization owners; the owners keep one)", func(c *client.Client, cmd *cobra.Command, team, user string) (api.Team, error) {
		return c.RemoveMember(cmd.Context(), team, user)
	})
	access := &cobra.Command{
		Use: "access TEAM AREA=LEVEL...", Short: "Set a team's access in areas (organization owners)", Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			acc, err := parseAccess(args[1:])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			cur, err := c.Team(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			merged := map[string]string{}
			for k, v := range cur.Access {
				merged[k] = v
			}
			for k, v := range acc {
				merged[k] = v
			}
			t, err := c.UpdateTeam(cmd.Context(), args[0], api.TeamRequest{Access: merged})
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s: %s\n", t.Name, accessString(t.Access))
			return nil
		},
	}
	cmd.AddCommand(ls, create, rm, add, remove, access)
	return cmd
}

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Users: list, make, remove, passwords"}
	var f listFlags
	ls := &cobra.Command{
		Use: "ls", Short: "List users (every one for server administrators, else your organization's)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			users, err := c.Users(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]row, 0, len(users))
			for _, u := range users {
				rows = append(rows, row{id: u.ID, obj: u, cells: []string{u.ID, ago(u.CreatedAt)}})
			}
			return printList(cmd.OutOrStdout(), f, []string{"NAME", "AGE"}, rows)
		},
	}
	addListFlags(ls, &f)
	create := &cobra.Command{
		Use: "create NAME", Short: "Make a user; the password is read from standard input (server administrators)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := newLineReader(cmd).askSecret(cmd, "Password for "+args[0]+": ")
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			u, err := c.CreateUser(cmd.Context(), args[0], pw)
			if err != nil {
				return err
			}
			say(cmd.OutOrStdout(), "%s\n", u.ID)
			return nil
		},
	}
	rm := &cobra.Command{
		Use: "rm NAME...", Short: "Remove users, from every team, with their tokens (server administrators)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			for _, u := range args {
				if err := c.DeleteUser(cmd.Context(), u); err != nil {
					return fmt.Errorf("user %s: %w", u, err)
				}
				say(cmd.OutOrStdout(), "%s\n", u)
			}
			return nil
		},
	}
	passwd := &cobra.Command{
		Use: "passwd [NAME]", Short: "Change your password (old, then new, from standard input); with NAME, set that user's (server administrators)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := newLineReader(cmd)
			c, err := g.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				pw, err := in.askSecret(cmd, "New password for "+args[0]+": ")
				if err != nil {
					return err
				}
				return c.SetPassword(cmd.Context(), args[0], pw)
			}
			old, err := in.askSecret(cmd, "Old password: ")
			if err != nil {
				return err
			}
			pw, err := in.askSecret(cmd, "New password: ")
			if err != nil {
				return err
			}
			if err := c.ChangePassword(cmd.Context(), old, pw); err != nil {
				return err
			}
			say(cmd.ErrOrStderr(), "password changed\n")
			return nil
		},
	}
	cmd.AddCommand(ls, create, rm, passwd)
	return cmd
}
