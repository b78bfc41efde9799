package scheduler

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Expr is one constraint or affinity in Swarm classic's syntax: a key, an
// operator (== or !=, soft when followed by ~) and a value that is a literal,
// a glob with * wildcards, or a /regular expression/.
type Expr struct {
	Key   string // as written: "node.labels.zone", "zone", "node.os", "service"...
	Equal bool   // true for == and ==~, false for != and !=~
	Soft  bool   // ==~ or !=~: preferred, never required
	Value string // as written, with the slashes of a regex

	re *regexp.Regexp // glob or regex; nil for a literal
}

// Affinity keys.
const (
	AffinityService   = "service"
	AffinityContainer = "container"
	AffinityImage     = "image"
)

// nodeFacts are the node.* keys a constraint may name besides labels.
var nodeFacts = []string{"node.id", "node.name", "node.os", "node.arch", "node.kernel", "node.engine_version"}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]*$`)

const syntaxHelp = "want key==value, key!=value, key==~value (soft) or key!=~value (soft); the value may be a glob (ssd*) or a /regex/"

// ParseExpression parses "key==value", "key!=value", "key==~value" or
// "key!=~value" without checking what the key names.
func ParseExpression(s string) (Expr, error) {
	if !utf8.ValidString(s) {
		return Expr{}, errors.New("not valid UTF-8")
	}
	i := strings.IndexAny(s, "=!")
	if i < 0 || i+1 >= len(s) || s[i+1] != '=' {
		return Expr{}, errors.New(syntaxHelp)
	}
	e := Expr{Key: strings.TrimSpace(s[:i]), Equal: s[i] == '='}
	rest := s[i+2:]
	if strings.HasPrefix(rest, "~") {
		e.Soft, rest = true, rest[1:]
	}
	e.Value = strings.TrimSpace(rest)
	switch {
	case e.Key == "":
		return Expr{}, errors.New("missing key: " + syntaxHelp)
	case !keyRE.MatchString(e.Key):
		return Expr{}, fmt.Errorf("bad key %q: letters, digits, '_', '.', '/' and '-' only", e.Key)
	case e.Value == "":
		return Expr{}, errors.New("missing value: " + syntaxHelp)
	case strings.ContainsAny(e.Value, "\x00\n\r"):
		return Expr{}, errors.New("the value has a control character")
	case strings.HasPrefix(e.Value, "=") || strings.HasPrefix(e.Value, "~"):
		return Expr{}, fmt.Errorf("bad operator in %q: %s", s, syntaxHelp)
	}
	if isRegex(e.Value) {
		re, err := regexp.Compile(e.Value[1 : len(e.Value)-1])
		if err != nil {
			return Expr{}, fmt.Errorf("bad regex %s: %v", e.Value, err)
		}
		e.re = re
	} else if strings.Contains(e.Value, "*") {
		parts := strings.Split(e.Value, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		e.re = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	}
	return e, nil
}

func isRegex(v string) bool { return len(v) >= 2 && v[0] == '/' && v[len(v)-1] == '/' }

// ParseConstraint parses a constraint: its key is node.labels.<k>, a short
// label key <k>, or one of the node facts node.id, node.name (or just node,
// as in Swarm classic), node.os, node.arch, node.kernel, node.engine_version.
func ParseConstraint(s string) (Expr, error) {
	e, err := ParseExpression(s)
	if err != nil {
		return Expr{}, fmt.Errorf("constraint %q: %w", s, err)
	}
	if strings.HasPrefix(e.Key, "node.") && !strings.HasPrefix(e.Key, "node.labels.") && !containsStr(nodeFacts, e.Key) {
		return Expr{}, fmt.Errorf("constraint %q: unknown key %q: want node.labels.<key>, <key> or one of %s", s, e.Key, strings.Join(nodeFacts, ", "))
	}
	if e.Key == "node.labels." {
		return Expr{}, fmt.Errorf("constraint %q: missing label name: want node.labels.<name>", s)
	}
	return e, nil
}

// ParseAffinity parses an affinity: its key is service, container or image.
func ParseAffinity(s string) (Expr, error) {
	e, err := ParseExpression(s)
	if err != nil {
		return Expr{}, fmt.Errorf("affinity %q: %w", s, err)
	}
	switch e.Key {
	case AffinityService, AffinityContainer, AffinityImage:
		return e, nil
	}
	return Expr{}, fmt.Errorf("affinity %q: unknown key %q: want service, container or image", s, e.Key)
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String renders the expression as it parses back.
func (e Expr) String() string {
	op := "!="
	if e.Equal {
		op = "=="
	}
	if e.Soft {
		op += "~"
	}
	return e.Key + op + e.Value
}

// Matches reports whether v matches the value: equal to a literal, the whole
// of v for a glob, anywhere in v for a regex. It ignores the operator.
func (e Expr) Matches(v string) bool {
	if e.re != nil {
		return e.re.MatchString(v)
	}
	return v == e.Value
}

// MatchesImage reports whether image img matches the value as Swarm classic
// matched images: the whole reference, or its name without tag or digest,
// so image==redis matches redis, redis:7 and redis@sha256:..., and
// image==redis:7 matches redis:7@sha256:...
func (e Expr) MatchesImage(img string) bool {
	noDigest, _, _ := strings.Cut(img, "@")
	return e.Matches(img) || e.Matches(noDigest) || e.Matches(ImageName(img))
}

// ImageName is an image reference without its tag and digest:
// "registry:5000/app:1.2@sha256:..." is "registry:5000/app".
func ImageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// Holds applies the operator to a value that may be missing (a label the node
// lacks): == needs it present and matching, != holds when it is missing or
// does not match.
func (e Expr) Holds(v string, present bool) bool {
	m := present && e.Matches(v)
	return m == e.Equal
}

// labelKey returns the label a constraint names, or "" for a node fact.
func (e Expr) labelKey() string {
	if k, ok := strings.CutPrefix(e.Key, "node.labels."); ok {
		return k
	}
	if strings.HasPrefix(e.Key, "node.") || e.Key == "node" {
		return ""
	}
	return e.Key
}
