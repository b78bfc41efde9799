package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// pkg is one package of the build graph as `go list` sees it.
type pkg struct {
	path    string
	module  string
	dir     string
	imports []string // direct, non-test
	files   []string // Go files in the build, names within dir
}

// graph is every package ./... depends on, the module's own among them.
type graph struct {
	mod     string
	pkgs    map[string]*pkg
	roots   []string // the module's packages, sorted as go list lists them
	overlay map[string]string
	deps    map[string]map[string]bool // memo of closure
}

// loadGraph runs `go list -deps ./...` in dir, with the overlay file when
// one is given (go build's -overlay: files added or replaced).
func loadGraph(dir, overlay string) (*graph, error) {
	modOut, err := goList(dir, "", "-m", "-f", "{{.Path}}")
	if err != nil {
		return nil, err
	}
	g := &graph{mod: strings.TrimSpace(modOut), pkgs: map[string]*pkg{}, deps: map[string]map[string]bool{}}
	if overlay != "" {
		b, err := os.ReadFile(overlay)
		if err != nil {
			return nil, err
		}
		var o struct{ Replace map[string]string }
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("overlay %s: %w", overlay, err)
		}
		g.overlay = o.Replace
	}
	const tmpl = `{{.ImportPath}}	{{with .Module}}{{.Path}}{{end}}	{{.Dir}}	{{join .Imports " "}}	{{join .GoFiles " "}} {{join .CgoFiles " "}}	{{with .Error}}{{.Err}}{{end}}`
	out, err := goList(dir, overlay, "-e", "-deps", "-f", tmpl, "./...")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("go list: unexpected line %q", line)
		}
		if f[5] != "" {
			return nil, fmt.Errorf("package %s: %s", f[0], f[5])
		}
		p := &pkg{path: f[0], module: f[1], dir: f[2], imports: strings.Fields(f[3]), files: strings.Fields(f[4])}
		g.pkgs[p.path] = p
		if p.module == g.mod {
			g.roots = append(g.roots, p.path)
		}
	}
	return g, nil
}

func goList(dir, overlay string, args ...string) (string, error) {
	a := []string{"list"}
	if overlay != "" {
		a = append(a, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(a, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v: %s", strings.Join(append(a, args...), " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// closure is every package p depends on, directly or not.
func (g *graph) closure(p string) map[string]bool {
	if d, ok := g.deps[p]; ok {
		return d
	}
	d := map[string]bool{}
	g.deps[p] = d
	if n := g.pkgs[p]; n != nil {
		for _, imp := range n.imports {
			d[imp] = true
			for x := range g.closure(imp) {
				d[x] = true
			}
		}
	}
	return d
}

// chain is the shortest import path from the packages in from to target,
// from included, target last.
func (g *graph) chain(from []string, target string) []string {
	prev := map[string]string{}
	queue := []string{}
	for _, f := range from {
		if _, seen := prev[f]; !seen {
			prev[f] = ""
			queue = append(queue, f)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var c []string
			for ; p != ""; p = prev[p] {
				c = append([]string{p}, c...)
			}
			return c
		}
		if n := g.pkgs[p]; n != nil {
			for _, imp := range n.imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = p
					queue = append(queue, imp)
				}
			}
		}
	}
	return []string{target}
}

// fileImports is the imports of one Go file of p, read through the overlay.
func (g *graph) fileImports(p *pkg, name string) ([]string, error) {
	file := filepath.Join(p.dir, name)
	var src any
	if r, ok := g.overlay[file]; ok {
		b, err := os.ReadFile(r)
		if err != nil {
			return nil, err
		}
		src = b
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var imps []string
	for _, s := range f.Imports {
		v, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		imps = append(imps, v)
	}
	return imps, nil
}

// short names a package of the module by its path inside it.
func (g *graph) short(p string) string {
	if rest, ok := strings.CutPrefix(p, g.mod+"/"); ok {
		return rest
	}
	return p
}
