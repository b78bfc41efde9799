package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/wharfhq/wharf/api/client"
)

// listFlags are the output flags every list command takes.
type listFlags struct {
	format string // "", "table", "json", "yaml" or a Go template
	quiet  bool
	// filters are the --filter KEY=VALUE flags; filterKeys the keys the
	// list has.
	filters    []string
	filterKeys []string
}

// row is one list item: its ID, its table cells and the object itself;
// match holds values --filter matches beside the object's own (a node's
// name beside its ID).
type row struct {
	id    string
	cells []string
	obj   any
	match map[string][]string
	// goNames replace Go-named fields a --format template sees (a node's
	// name for {{.Node}}, where JSON's "node" is its ID).
	goNames map[string]any
}

// printList prints rows as a table, IDs (-q), JSON (an array of objects) or
// through a Go template applied to each object.
func printList(w io.Writer, f listFlags, header []string, rows []row) error {
	rows, err := filterRows(f, rows)
	if err != nil {
		return err
	}
	switch {
	case f.quiet:
		for _, r := range rows {
			if _, err := fmt.Fprintln(w, cell(r.id)); err != nil {
				return err
			}
		}
		return nil
	case f.format == "json":
		objs := make([]any, 0, len(rows))
		for _, r := range rows {
			objs = append(objs, r.obj)
		}
		return printJSON(w, objs)
	case f.format == "yaml":
		objs := make([]any, 0, len(rows))
		for _, r := range rows {
			objs = append(objs, r.obj)
		}
		return printYAML(w, objs)
	case f.format == "" || f.format == "table":
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			cells := make([]string, len(r.cells))
			for i, c := range r.cells {
				cells[i] = cell(c)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		// An empty last column (a container without an error) leaves no
		// trailing blanks.
		for line := range strings.Lines(b.String()) {
			if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
				return err
			}
		}
		return nil
	default:
		return printTemplate(w, f.format, rows)
	}
}

func printTemplate(w io.Writer, format string, rows []row) error {
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
	}).Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	for _, r := range rows {
		// Templates see the JSON form, so field names match --format json,
		// with Go-style aliases beside them for Docker users.
		var m any
		b, _ := json.Marshal(r.obj)
		_ = json.Unmarshal(b, &m)
		data := withGoNames(reflect.ValueOf(r.obj), m)
		if dm, ok := data.(map[string]any); ok {
			for k, v := range r.goNames {
				dm[k] = v
			}
		}
		if err := tmpl.Execute(w, escapeTree(data)); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	return nil
}

// withGoNames adds to every object in j (the JSON form of the Go value v)
// the Go names of its struct fields beside their JSON keys, so that both
// {{.status.exit_code}} and Docker's {{.Status.ExitCode}} work. Keys of
// maps (labels, env) are the user's and stay as they are.
func withGoNames(v reflect.Value, j any) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return j
		}
		v = v.Elem()
	}
	switch jv := j.(type) {
	case map[string]any:
		out := make(map[string]any, 2*len(jv))
		switch v.Kind() {
		case reflect.Struct:
			fields := jsonFields(v)
			for k, e := range jv {
				f, ok := fields[k]
				if !ok {
					out[k] = e
					continue
				}
				e = withGoNames(f.value, e)
				out[k] = e
				if _, taken := jv[f.name]; !taken {
					out[f.name] = e
				}
			}
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return j
			}
			for k, e := range jv {
				out[k] = withGoNames(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), e)
			}
		default:
			return j
		}
		return out
	case []any:
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array || v.Len() != len(jv) {
			return j
		}
		for i, e := range jv {
			jv[i] = withGoNames(v.Index(i), e)
		}
		return jv
	default:
		return j
	}
}

// goField is a struct field as JSON shows it: its Go name and value.
type goField struct {
	name  string
	value reflect.Value
}

// jsonFields maps the JSON keys of struct v to its fields, with the fields
// of embedded structs promoted as encoding/json does.
func jsonFields(v reflect.Value) map[string]goField {
	out := map[string]goField{}
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !sf.IsExported() && !sf.Anonymous {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			for k, f := range jsonFields(v.Field(i)) {
				if _, ok := out[k]; !ok {
					out[k] = f
				}
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = goField{name: sf.Name, value: v.Field(i)}
	}
	return out
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(escapeJSON(b), '\n'))
	return err
}

// escapeTree escapes every string of a decoded JSON value, map keys
// included, as a cell: what a --format template prints is then safe, and
// the template's own text (the user's) is left as it is.
func escapeTree(v any) any {
	switch t := v.(type) {
	case string:
		return cell(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[cell(k)] = escapeTree(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = escapeTree(e)
		}
		return t
	}
	return v
}

// ago renders a time as a short age: "3s", "5m", "2h", "4d".
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(escapeJSON(b), '\n'))
	return err
}

// inspectCmd is `<noun> inspect REF...`: each object read with get, printed
// as one JSON array.
func inspectCmd[T any](g *globals, placeholder, what string, get func(*client.Client, context.Context, string) (T, error)) *cobra.Command {
	return &cobra.Command{
		Use: "inspect " + placeholder + "...", Short: "Show " + what + "s as a JSON array", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			out := make([]T, 0, len(args))
			for _, ref := range args {
				obj, err := get(c, cmd.Context(), ref)
				if err != nil {
					return fmt.Errorf("%s %s: %w", what, ref, err)
				}
				out = append(out, obj)
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
}

// printYAML prints v as YAML: its JSON form (the same keys as --format
// json, in the same order), in YAML's block style.
func printYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err = w.Write(escapeJSON(buf.Bytes()))
	return err
}

// blockStyle drops the flow style (JSON's braces and quotes) of n and what
// it holds; the encoder quotes the strings that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
