package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ExitCodesAnnotation is the annotation a command sets to document exit
// codes other than 0 (success) and 1 (an error, printed on stderr): one
// line per code, "CODE: meaning".
const ExitCodesAnnotation = "wharf/exit-codes"

// WriteDocs writes the reference of every command of root, generated from
// the command tree, in Markdown: docs/cli.md (TestCLIDocs keeps it fresh).
func WriteDocs(w io.Writer, root *cobra.Command) error {
	var b strings.Builder
	b.WriteString("# Command line reference\n\n")
	b.WriteString("<!-- Generated from the command tree by internal/cli/docgen.go: do not edit.\n")
	b.WriteString("     Regenerate with: go test ./internal/cli -run TestCLIDocs -update-docs -->\n\n")
	b.WriteString("Every command below is `" + root.Name() + "` followed by its path. " + oneLine(root.Short) + ".\n\n")
	b.WriteString("## Exit codes\n\n")
	b.WriteString("Unless a command says otherwise: `0` when it did what was asked, `1` on any error (one line on\n")
	b.WriteString("stderr, starting with `wharf:`), including a bad flag or argument.\n\n")
	b.WriteString("## Global flags\n\n")
	b.WriteString("Every command takes these (settings: flag, then environment, then the config file).\n\n")
	flagTable(&b, root.PersistentFlags())
	b.WriteString("\n## Commands\n\n")
	walkDocs(root, func(c *cobra.Command) {
		if c == root {
			return
		}
		depth := strings.Count(c.CommandPath(), " ")
		fmt.Fprintf(&b, "%s- [`%s`](#%s) — %s\n", strings.Repeat("  ", depth-1), c.CommandPath(), anchor(c), oneLine(c.Short))
	})
	walkDocs(root, func(c *cobra.Command) {
		if c == root {
			return
		}
		writeCommandDoc(&b, c)
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// walkDocs visits the visible commands depth first, in name order (cobra
// sorts them).
func walkDocs(c *cobra.Command, visit func(*cobra.Command)) {
	if c.Hidden || c.Name() == "help" {
		return
	}
	visit(c)
	for _, sub := range c.Commands() {
		walkDocs(sub, visit)
	}
}

func anchor(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

func writeCommandDoc(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "\n<a id=\"%s\"></a>\n### %s\n\n", anchor(c), c.CommandPath())
	b.WriteString(oneLine(c.Short) + ".\n\n")
	if len(c.Aliases) > 0 {
		fmt.Fprintf(b, "Aliases: `%s`.\n\n", strings.Join(c.Aliases, "`, `"))
	}
	if c.Long != "" {
		b.WriteString("```text\n" + strings.TrimRight(c.Long, "\n") + "\n```\n\n")
	}
	var subs []*cobra.Command
	for _, s := range c.Commands() {
		if !s.Hidden && s.Name() != "help" {
			subs = append(subs, s)
		}
	}
	if !c.Runnable() {
		b.WriteString("Subcommands:\n\n")
		for _, s := range subs {
			fmt.Fprintf(b, "- [`%s`](#%s) — %s\n", s.Name(), anchor(s), oneLine(s.Short))
		}
		b.WriteString("\n")
		return
	}
	fmt.Fprintf(b, "Usage:\n\n```sh\n%s\n```\n\n", usageLine(c))
	if fs := c.LocalNonPersistentFlags(); fs.HasAvailableFlags() {
		b.WriteString("Flags:\n\n")
		flagTable(b, fs)
		b.WriteString("\n")
	}
	b.WriteString("Exit codes: `0` success, `1` error")
	if codes := strings.TrimSpace(c.Annotations[ExitCodesAnnotation]); codes != "" {
		for _, l := range strings.Split(codes, "\n") {
			b.WriteString("; `" + strings.Replace(strings.TrimSpace(l), ":", "`:", 1))
		}
	}
	b.WriteString(".\n\n")
	example := strings.TrimRight(c.Example, "\n")
	if example == "" {
		example = sampleLine(c)
	}
	b.WriteString("Example:\n\n```sh\n" + dedent(example) + "\n```\n")
}

// usageLine is the command's path and the arguments of its Use.
func usageLine(c *cobra.Command) string {
	line := c.CommandPath()
	if _, args, ok := strings.Cut(c.Use, " "); ok {
		line += " " + args
	}
	return line
}

// flagTable writes one row per visible flag, in name order.
func flagTable(b *strings.Builder, fs *pflag.FlagSet) {
	b.WriteString("| Flag | Value | Default | Meaning |\n|---|---|---|---|\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "`--" + f.Name + "`"
		if f.Shorthand != "" {
			name = "`-" + f.Shorthand + "`, " + name
		}
		typ := f.Value.Type()
		switch typ {
		case "bool":
			typ = ""
		case "stringSlice", "stringArray":
			typ = "strings"
		}
		// defaults that depend on the machine are shown as they are made
		def := strings.Replace(f.DefValue, defaultDataDir("X")[:len(defaultDataDir("X"))-1], "$XDG_DATA_HOME/wharf/", 1)
		switch def {
		case "", "[]", "false":
			def = ""
		default:
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, typ, def, mdCell(f.Usage))
	})
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func oneLine(s string) string {
	return strings.TrimSuffix(strings.Join(strings.Fields(s), " "), ".")
}

// dedent removes the indentation every line of an example shares.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}

// samples stand for the placeholders of a Use line in the example made
// for a command that has none.
var samples = map[string]string{
	"SERVICE": "web", "NODE": "node-1", "STACK": "shop", "CONTAINER": "web-1", "SECRET": "db-password", "NETWORK": "backend",
	"REPLICAS": "3", "TEAM": "ops", "USER": "alice", "TOKEN-ID": "3f2a9c41d07e5b68", "ID": "3f2a9c41d07e5b68",
	"AREA=LEVEL": "apps=write", "URL": "https://manager.example:8443", "PATH": "/etc/wharf/join-token",
	"k=v": "zone=a", "CMD": "uptime",
}

// sampleLine is the usage line with sample values for its placeholders
// and without its optional parts.
func sampleLine(c *cobra.Command) string {
	_, args, _ := strings.Cut(c.Use, " ")
	out := []string{c.CommandPath()}
	depth := 0
	for _, w := range strings.Fields(args) {
		opens, closes := strings.Count(w, "["), strings.Count(w, "]")
		optional := depth > 0 || opens > 0
		depth += opens - closes
		if optional {
			continue
		}
		w = strings.TrimSuffix(w, "...")
		if v, ok := samples[w]; ok {
			w = v
		} else if w == "NAME" {
			w = strings.ToLower(strings.TrimSuffix(c.Parent().Name(), "s")) + "-1"
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}
