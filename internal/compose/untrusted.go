package compose

// The load of a compose file a remote user sent (the dashboard's "Deploy a
// stack" form): only the bytes given are read. Interpolation takes the
// variables given and ${X:-default} defaults, never the process's
// environment or a .env; a variable without a value or default is an
// error naming it. Every key that would make compose-go or Wharf read
// another file (include, env_file, label_file, extends: file:, build:,
// secrets and configs from file: or environment:) is refused before
// compose-go sees the text, as is a relative bind mount after it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	yaml4 "go.yaml.in/yaml/v4"
	"gopkg.in/yaml.v3"
)

// MaxUntrusted bounds the size of a compose file LoadUntrusted reads.
const MaxUntrusted = 1 << 20

// untrustedDir is the working dir compose-go is given: a path that names
// nothing, so that a relative path that got through would resolve to no
// file of the server's.
const untrustedDir = "/nonexistent/wharf-untrusted"

// fromFiles is the advice every refusal of LoadUntrusted ends with.
const fromFiles = "deploy this file with `wharf stack deploy` from a machine that has the files it names"

// LoadUntrusted maps the compose file data, sent by a remote user, to a
// Stack, reading nothing but data: name is what messages call the file
// (its base name is kept), project the stack's name, vars the only
// variables of interpolation. See the file's comment for what it refuses.
func LoadUntrusted(ctx context.Context, name, project string, data []byte, vars map[string]string) (*Stack, error) {
	name = untrustedName(name)
	if len(data) > MaxUntrusted {
		return nil, fmt.Errorf("%s: the compose file is %d bytes; at most %d are accepted here", name, len(data), MaxUntrusted)
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, fmt.Errorf("%s: the compose file is empty: paste or upload one with a services: section", name)
	}
	src, err := parseSource(name, name, data)
	if err != nil {
		return nil, err
	}
	if err := oneDocument(name, data); err != nil {
		return nil, err
	}
	w := &warner{ix: index{}, order: map[string]int{name: 0}, wd: untrustedDir, untrusted: true}
	if src.root != nil {
		w.ix.add(name, "", src.root, 0)
	}
	if err := refuseFileKeys(name, data, w.ix); err != nil {
		return nil, err
	}
	env := types.Mapping{}
	for k, v := range vars {
		env[k] = v
	}
	details := types.ConfigDetails{
		WorkingDir:  untrustedDir,
		ConfigFiles: []types.ConfigFile{{Filename: name, Content: data}},
		Environment: env,
	}
	projectName := loader.NormalizeProjectName(project)
	if projectName == "" {
		projectName = "stack"
	}
	var p *types.Project
	srcs := []*source{src}
	logs := captureLogs(func() {
		p, err = loader.LoadWithContext(ctx, details, func(o *loader.Options) {
			o.SetProjectName(projectName, true)
			o.SkipConsistencyCheck = true
			o.SkipInclude = true       // refused above; never read
			o.SkipResolveLabels = true // label_file: refused above; never read
			o.ResolvePaths = false     // relative binds stay relative, and are refused
		})
	})
	for _, m := range logs {
		if v := unsetRE.FindStringSubmatch(m); v != nil {
			l := findVariable(srcs, v[1])
			return nil, placed(l, fmt.Sprintf("variable %s is not set: give it under Variables (%s=value), or write ${%s:-default} in the file", v[1], v[1], v[1]))
		}
	}
	w.logWarnings(srcs, logs)
	if err != nil {
		return nil, placeError(srcs, err, untrustedDir)
	}
	return w.stack(srcs, p, untrustedDir, false, true)
}

// oneDocument refuses a text of several YAML documents: compose-go merges
// them, but the checks here read the first alone. Decoding to nodes
// expands no alias, so a later document costs no more than its size.
func oneDocument(name string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil // an empty text or an error parseSource reported
	}
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil
	}
	line := doc.Line
	if err != nil {
		line = 0
	}
	return placed(loc{file: name, line: line}, "a compose file sent to the server must be one YAML document: remove the --- that starts another, or merge the documents into one")
}

// untrustedName is the base name of a file name a user gave, or
// compose.yaml.
func untrustedName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." || len(name) > 100 {
		return "compose.yaml"
	}
	return name
}

func placed(l loc, msg string) error {
	switch {
	case l.line > 0:
		return fmt.Errorf("%s:%d: %s", l.file, l.line, msg)
	case l.file != "":
		return fmt.Errorf("%s: %s", l.file, msg)
	}
	return fmt.Errorf("%s", msg)
}

// refuseFileKeys refuses the keys that read files. The text is decoded
// as compose-go decodes it (go.yaml.in/yaml/v4, aliases and merge keys
// resolved), so that no anchor or merge hides a key from the check; the
// index places the key.
func refuseFileKeys(name string, data []byte, ix index) error {
	var doc any
	if err := yaml4.Unmarshal(data, &doc); err != nil {
		return yamlError(name, data, err)
	}
	top, ok := stringKeys(doc, 0).(map[string]any)
	if !ok {
		return nil // compose-go says what is wrong
	}
	refuse := func(path, what string) error {
		l := ix.at(path)
		if l.file == "" {
			l.file = name
		}
		return placed(l, fmt.Sprintf("%s: %s is refused in a compose file sent to the server, which reads no file of its own for it; %s", path, what, fromFiles))
	}
	if _, ok := top["include"]; ok {
		return refuse("include", "include (other compose files)")
	}
	if p := findKey(top, "", 0, "env_file", "label_file"); p != "" {
		return refuse(p, "reading variables or labels from a file")
	}
	for _, svc := range sortedAny(top["services"]) {
		m, _ := svc.v.(map[string]any)
		path := "services." + svc.k
		if _, ok := m["build"]; ok {
			return refuse(path+".build", "build: (building needs the build context's files)")
		}
		if ext, ok := m["extends"].(map[string]any); ok {
			if _, ok := ext["file"]; ok {
				return refuse(path+".extends.file", "extends from another file")
			}
		}
	}
	for _, kind := range []string{"secrets", "configs"} {
		for _, e := range sortedAny(top[kind]) {
			m, _ := e.v.(map[string]any)
			for _, k := range []string{"file", "environment"} {
				if _, ok := m[k]; ok {
					what := "a value from a file"
					if k == "environment" {
						what = "a value from the server's environment"
					}
					return refuse(kind+"."+e.k+"."+k, what+" (create the secret first, then declare it external: true)")
				}
			}
		}
	}
	return nil
}

type kvAny struct {
	k string
	v any
}

// sortedAny is the entries of mapping v sorted by key (none when v is not
// a mapping).
func sortedAny(v any) []kvAny {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make([]kvAny, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, kvAny{k, m[k]})
	}
	return out
}

// findKey is the path of the first key named one of names anywhere in v
// (mappings in key order, then sequences), or "".
func findKey(v any, path string, depth int, names ...string) string {
	if depth > maxDepth {
		return ""
	}
	switch v := v.(type) {
	case map[string]any:
		for _, e := range sortedAny(v) {
			for _, n := range names {
				if e.k == n {
					return join(path, e.k)
				}
			}
			if p := findKey(e.v, join(path, e.k), depth+1, names...); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range v {
			if p := findKey(e, join(path, fmt.Sprint(i)), depth+1, names...); p != "" {
				return p
			}
		}
	}
	return ""
}

// stringKeys is v with every mapping's keys made strings, as compose-go
// makes them (a mapping with a key that is not a string decodes to
// map[any]any).
func stringKeys(v any, depth int) any {
	if depth > maxDepth {
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = stringKeys(e, depth+1)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = stringKeys(e, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = stringKeys(e, depth+1)
		}
		return out
	}
	return v
}
