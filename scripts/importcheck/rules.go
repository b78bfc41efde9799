package main

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// rule is one line of the rules file.
type rule struct {
	line     int
	pending  bool     // reported, not enforced
	kind     string   // only, forbid or testonly
	subject  string   // a pattern; empty for testonly
	except   []string // file name globs of subject left out
	packages []string // patterns
	reason   string
}

func (r rule) String() string {
	s := r.kind
	if r.subject != "" {
		s += " " + r.subject
	}
	if len(r.except) > 0 {
		s += " except=" + strings.Join(r.except, ",")
	}
	if len(r.packages) > 0 {
		s += " " + strings.Join(r.packages, " ")
	}
	return s
}

// parseRules reads the rules file: one rule a line, # comments.
func parseRules(r io.Reader) ([]rule, error) {
	var rules []rule
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		spec, reason, ok := strings.Cut(text, " : ")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("line %d: no reason: end the rule with ' : why it holds'", n)
		}
		ru := rule{line: n, reason: strings.TrimSpace(reason)}
		f := strings.Fields(spec)
		if len(f) > 0 && f[0] == "pending" {
			ru.pending, f = true, f[1:]
		}
		if len(f) == 0 {
			return nil, fmt.Errorf("line %d: no rule", n)
		}
		ru.kind, f = f[0], f[1:]
		switch ru.kind {
		case "only", "forbid":
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: %s needs a subject", n, ru.kind)
			}
			ru.subject, f = f[0], f[1:]
			if len(f) > 0 && strings.HasPrefix(f[0], "except=") {
				ru.except, f = strings.Split(strings.TrimPrefix(f[0], "except="), ","), f[1:]
				for _, g := range ru.except {
					if _, err := path.Match(g, ""); err != nil || g == "" {
						return nil, fmt.Errorf("line %d: bad file pattern %q", n, g)
					}
				}
			}
			if ru.kind == "forbid" && len(f) == 0 {
				return nil, fmt.Errorf("line %d: forbid what? name the packages", n)
			}
		case "testonly":
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: testonly needs packages", n)
			}
		default:
			return nil, fmt.Errorf("line %d: unknown rule %q (want only, forbid or testonly)", n, ru.kind)
		}
		ru.packages = f
		rules = append(rules, ru)
	}
	return rules, sc.Err()
}

// matcher matches import paths against a rule's patterns: ./x is x in
// module mod, a trailing /... takes everything below.
type matcher struct{ mod string }

func (m matcher) expand(pat string) string {
	if pat == "." {
		return m.mod
	}
	if rest, ok := strings.CutPrefix(pat, "./"); ok {
		return m.mod + "/" + rest
	}
	return pat
}

func (m matcher) match(pat, pkg string) bool {
	p := m.expand(pat)
	if base, ok := strings.CutSuffix(p, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == p
}

func (m matcher) any(pats []string, pkg string) bool {
	for _, p := range pats {
		if m.match(p, pkg) {
			return true
		}
	}
	return false
}
