package compose

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	yaml4 "go.yaml.in/yaml/v4"
	"gopkg.in/yaml.v3"
)

// maxDepth bounds the walk of a YAML tree, so that a hostile file (deep
// nesting, aliases of aliases) cannot make it unbounded.
const maxDepth = 64

// source is one compose file as read from disk: its name as shown in
// messages, its text and its YAML node tree.
type source struct {
	path    string // as opened
	display string // relative to the working dir when possible
	data    []byte
	root    *yaml.Node // the document's top mapping; nil for an empty file
}

// loc is where a key was written.
type loc struct {
	file  string
	line  int
	value string // the scalar written there, if any
}

// yamlLineRE matches yaml.v3's "yaml: line 3: reason" errors.
var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// readSource reads and parses one compose file. A parse error names the
// file and, when the parser gave one, the line.
func readSource(path, display string) (*source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	return parseSource(path, display, data)
}

func parseSource(path, display string, data []byte) (*source, error) {
	s := &source{path: path, display: display, data: data}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return s, nil
		}
		return nil, yamlError(display, data, err)
	}
	if err := checkAliases(display, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root := resolve(doc.Content[0])
		if root.Kind == yaml.MappingNode {
			s.root = root
		} else if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			return nil, fmt.Errorf("%s:%d: a compose file must be a mapping", display, root.Line)
		}
	}
	return s, nil
}

// yamlError rewrites a yaml.v3 error as "file:line: reason".
//
// yaml.v3 places a parser error (bad indentation, an unclosed bracket) at
// the start of the enclosing block, often lines above the mistake, so the
// file is parsed again with go.yaml.in/yaml/v4 (the parser compose-go
// uses), whose message also carries the problem's line (counted from 0 for
// parser errors).
func yamlError(display string, data []byte, err error) error {
	msg := strings.TrimSpace(err.Error())
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", display, msg)
	}
	line, reason := m[1], m[2]
	var n yaml4.Node
	if err4 := yaml4.Unmarshal(data, &n); err4 != nil {
		if p := yamlParserRE.FindStringSubmatch(err4.Error()); p != nil {
			if l, err := strconv.Atoi(p[3]); err == nil {
				line = strconv.Itoa(l + 1)
			}
			if c, err := strconv.Atoi(p[2]); err == nil && strconv.Itoa(c+1) != line {
				reason += fmt.Sprintf(" (in the %s of line %d)", p[1], c+1)
			}
		} else if line == "" {
			if p := yamlScannerRE.FindStringSubmatch(err4.Error()); p != nil {
				line = p[1]
			}
		}
	}
	if line != "" {
		return fmt.Errorf("%s:%s: %s", display, line, reason)
	}
	return fmt.Errorf("%s: %s", display, reason)
}

var (
	yamlParserRE  = regexp.MustCompile(`^yaml: while parsing (?:a |an )?(.*?) at (?:line (\d+), column \d+|<unknown position>): line (\d+), column \d+: `)
	yamlScannerRE = regexp.MustCompile(`^yaml: (?:while scanning .* at )?line (\d+)`)
)

// maxNodes bounds the size of a file with its aliases expanded: a file that
// refers to an anchor from inside it, or multiplies aliases of aliases,
// would otherwise keep compose-go busy for a long time.
const maxNodes = 100000

// checkAliases refuses recursive aliases and files whose aliases expand to
// more than maxNodes nodes.
func checkAliases(display string, doc *yaml.Node) error {
	size := map[*yaml.Node]int{}
	const visiting = -1
	var errAt *yaml.Node
	var walk func(n *yaml.Node, depth int) int
	walk = func(n *yaml.Node, depth int) int {
		if errAt != nil {
			return 0
		}
		if v, ok := size[n]; ok {
			if v == visiting {
				errAt = n
			}
			return v
		}
		if depth > 4*maxDepth {
			errAt = n
			return 0
		}
		size[n] = visiting
		total := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if size[n.Alias] == visiting {
				errAt = n
				return 0
			}
			total += walk(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			total += walk(c, depth+1)
			if total > maxNodes && errAt == nil {
				errAt = c
			}
		}
		size[n] = total
		return total
	}
	walk(doc, 0)
	if errAt != nil {
		return fmt.Errorf("%s:%d: aliases refer to themselves, nest too deep or expand too much", display, errAt.Line)
	}
	return nil
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// pair is one key of a mapping with its value.
type pair struct {
	key, value *yaml.Node
}

// pairs lists the keys of mapping n, with YAML merge keys ("<<: *anchor")
// expanded: a key written in n wins over a merged one, as in YAML.
func pairs(n *yaml.Node) []pair {
	return pairsDepth(n, 0)
}

func pairsDepth(n *yaml.Node, depth int) []pair {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxDepth {
		return nil
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			v = resolve(v)
			if v == nil {
				continue
			}
			if v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					merged = append(merged, pairsDepth(e, depth+1)...)
				}
			} else {
				merged = append(merged, pairsDepth(v, depth+1)...)
			}
			continue
		}
		own = append(own, pair{k, v})
	}
	seen := make(map[string]bool, len(own))
	for _, p := range own {
		seen[p.key.Value] = true
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			own = append(own, p)
		}
	}
	return own
}

// lookup returns the value of key in mapping n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key.Value == key {
			return resolve(p.value)
		}
	}
	return nil
}

// index records where each key path ("services.web.ports.0.target") was
// written. Later files win, as their values win in the merge.
type index map[string]loc

func (ix index) add(file string, prefix string, n *yaml.Node, depth int) {
	n = resolve(n)
	if n == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for _, p := range pairs(n) {
			path := join(prefix, p.key.Value)
			ix[path] = loc{file, p.key.Line, scalar(p.value)}
			ix.add(file, path, p.value, depth+1)
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			path := join(prefix, strconv.Itoa(i))
			ix[path] = loc{file, e.Line, scalar(e)}
			ix.add(file, path, e, depth+1)
		}
	}
}

func scalar(n *yaml.Node) string {
	if n = resolve(n); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// find is the first entry of the list at path (in file order, then line
// order) whose text contains needle, and the path of that entry; else
// path itself. compose-go expands and merges lists (a port range becomes
// several ports), so its indexes are not the files'.
func (ix index) find(path, needle string) (string, loc) {
	best, bestLoc := path, ix.at(path)
	found := false
	for p, l := range ix {
		rest, ok := strings.CutPrefix(p, path+".")
		if !ok || needle == "" || !strings.Contains(l.value, needle) {
			continue
		}
		entry, _, _ := strings.Cut(rest, ".")
		if !found || l.line < bestLoc.line || (l.line == bestLoc.line && p < best) {
			best, bestLoc, found = path+"."+entry, ix[path+"."+entry], true
		}
	}
	return best, bestLoc
}

// at is where path was written, or where its nearest written parent was.
func (ix index) at(path string) loc {
	for {
		if l, ok := ix[path]; ok {
			return l
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return loc{}
		}
		path = path[:i]
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// findVariable is where ${name appears first in the sources, for errors of
// interpolation, which compose-go reports without a place.
func findVariable(srcs []*source, name string) loc {
	for _, s := range srcs {
		for i, line := range strings.Split(string(s.data), "\n") {
			if strings.Contains(line, "${"+name+":") || strings.Contains(line, "${"+name+"?") || strings.Contains(line, "${"+name+"}") ||
				bareVariable(line, name) {
				return loc{file: s.display, line: i + 1}
			}
		}
	}
	return loc{}
}

// bareVariable reports whether line holds $name not followed by a
// character of a longer name.
func bareVariable(line, name string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], "$"+name)
		if j < 0 {
			return false
		}
		end := i + j + 1 + len(name)
		if end == len(line) || !isNameByte(line[end]) {
			return true
		}
		i = end
	}
}

func isNameByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
