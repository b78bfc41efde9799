// Command importcheck checks the direction of Wharf's imports against the
// written rules in scripts/import-rules.txt, over transitive dependencies
// (`go list -deps`): a package breaks a rule when anything it imports,
// however indirectly, is what the rule forbids, and the report shows the
// chain of imports that does it. scripts/check-imports.sh (`make check`)
// runs it; it only reads the module, never changes it.
//
//	go run ./scripts/importcheck [-rules FILE] [-overlay FILE]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

func main() {
	rulesFile := flag.String("rules", "scripts/import-rules.txt", "the rules file")
	overlay := flag.String("overlay", "", "a go build -overlay file (for tests: a deliberately bad import)")
	flag.Parse()
	ok, err := check(".", *rulesFile, *overlay, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// check loads the module in dir and checks every rule. It reports false
// when an enforced rule is broken; pending rules are reported only.
func check(dir, rulesFile, overlay string, out io.Writer) (bool, error) {
	f, err := os.Open(rulesFile)
	if err != nil {
		return false, err
	}
	rules, err := parseRules(f)
	_ = f.Close()
	if err != nil {
		return false, fmt.Errorf("%s: %w", rulesFile, err)
	}
	g, err := loadGraph(dir, overlay)
	if err != nil {
		return false, err
	}
	ok := true
	for _, r := range rules {
		broken, err := g.violations(r)
		if err != nil {
			return false, fmt.Errorf("%s:%d: %w", rulesFile, r.line, err)
		}
		switch {
		case len(broken) > 0 && r.pending:
			fmt.Fprintf(out, "%s:%d: pending rule, not enforced yet: %s\n\t%s\n", rulesFile, r.line, r, r.reason)
		case len(broken) > 0:
			ok = false
			fmt.Fprintf(out, "%s:%d: import rule broken: %s\n\t%s\n", rulesFile, r.line, r, r.reason)
		case r.pending:
			fmt.Fprintf(out, "%s:%d: pending rule now holds: drop \"pending\" to enforce it: %s\n", rulesFile, r.line, r)
		}
		for _, b := range broken {
			fmt.Fprintf(out, "\t%s\n", b)
		}
	}
	return ok, nil
}

// violations lists each import chain that breaks r.
func (g *graph) violations(r rule) ([]string, error) {
	m := matcher{mod: g.mod}
	for _, p := range append([]string{r.subject}, r.packages...) {
		if strings.HasPrefix(p, "./") && !slices.ContainsFunc(g.roots, func(root string) bool { return m.match(p, root) }) {
			return nil, fmt.Errorf("%s names no package of the module", p)
		}
	}
	var broken []string
	for _, p := range g.roots {
		if r.kind == "testonly" {
			if m.any(r.packages, p) {
				continue
			}
			broken = append(broken, g.breaks([]string{p}, p, "", func(d string) bool { return m.any(r.packages, d) })...)
			continue
		}
		if !m.match(r.subject, p) {
			continue
		}
		bad := func(d string) bool { return m.any(r.packages, d) }
		if r.kind == "only" {
			bad = func(d string) bool {
				return d != p && strings.HasPrefix(d+"/", g.mod+"/") && !m.any(r.packages, d)
			}
		}
		if len(r.except) == 0 {
			broken = append(broken, g.breaks([]string{p}, p, "", bad)...)
			continue
		}
		// Leave the excepted files out: check the others through
		// their own imports.
		n := g.pkgs[p]
		used := make([]bool, len(r.except))
		for _, name := range n.files {
			skip := false
			for i, pat := range r.except {
				if ok, _ := path.Match(pat, name); ok {
					skip, used[i] = true, true
				}
			}
			if skip {
				continue
			}
			imps, err := g.fileImports(n, name)
			if err != nil {
				return nil, err
			}
			broken = append(broken, g.breaks(imps, p, name, bad)...)
		}
		for i, u := range used {
			if !u {
				return nil, fmt.Errorf("except=%s: no such file in %s", r.except[i], g.short(p))
			}
		}
	}
	return broken, nil
}

// breaks lists the packages that from (p, or the imports of p's file
// named file) depends on and that bad says break the rule, each with its
// chain of imports; one reached only through another is left out.
func (g *graph) breaks(from []string, p, file string, bad func(string) bool) []string {
	all := map[string]bool{}
	for _, f := range from {
		if f != p {
			all[f] = true
		}
		for d := range g.closure(f) {
			all[d] = true
		}
	}
	var hits []string
	for d := range all {
		if bad(d) {
			hits = append(hits, d)
		}
	}
	sort.Strings(hits)
	var out []string
	for _, d := range hits {
		c := g.chain(from, d)
		if slices.ContainsFunc(c[:len(c)-1], func(x string) bool { return x != p && bad(x) }) {
			continue // reached through a package already reported
		}
		names := make([]string, 0, len(c)+1)
		head := g.short(p)
		if file != "" {
			head += " (" + file + ")"
		}
		if file != "" {
			names = append(names, head)
		}
		for _, x := range c {
			names = append(names, g.short(x))
		}
		out = append(out, strings.Join(names, " -> "))
	}
	return out
}
