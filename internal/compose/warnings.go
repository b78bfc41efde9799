package compose

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Warning is a part of the compose files that Wharf ignores or changes.
type Warning struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

// String is "compose.yml:12: services.web.cap_add is not supported by
// Wharf; ignored".
func (w Warning) String() string {
	place := w.File
	if w.Line > 0 {
		place = fmt.Sprintf("%s:%d", w.File, w.Line)
	}
	if place == "" {
		return w.Key + " " + w.Message
	}
	return place + ": " + w.Key + " " + w.Message
}

const msgUnsupported = "is not supported by Wharf; ignored"

// keys is the part of the compose schema Wharf maps. A key missing from its
// mapping is reported; a nil value accepts whatever is under the key; "*"
// stands for any key (service names, network names). When the YAML value is
// a sequence, the schema applies to each of its mappings.
type keys map[string]keys

var (
	resourceKeys = keys{"cpus": nil, "memory": nil}
	updateKeys   = keys{"parallelism": nil, "delay": nil, "order": nil, "failure_action": nil, "max_failure_ratio": nil, "monitor": nil}

	deployKeys = keys{
		"mode":            nil,
		"replicas":        nil,
		"placement":       {"constraints": nil},
		"resources":       {"limits": resourceKeys, "reservations": resourceKeys},
		"update_config":   updateKeys,
		"rollback_config": updateKeys,
		"restart_policy":  {"condition": nil},
	}

	serviceKeys = keys{
		"image":        nil,
		"build":        nil, // checked by mapper.build: some keys are refused
		"pull_policy":  nil,
		"command":      nil,
		"entrypoint":   nil,
		"environment":  nil,
		"env_file":     {"path": nil, "required": nil},
		"ports":        {"target": nil, "published": nil, "protocol": nil, "host_ip": nil, "mode": nil},
		"network_mode": nil,
		"expose":       nil,
		"labels":       nil,
		"healthcheck":  {"test": nil, "interval": nil, "timeout": nil, "start_period": nil, "retries": nil, "disable": nil},
		"restart":      nil,
		"scale":        nil,
		"deploy":       deployKeys,
		"links":        nil,
		"depends_on":   {"*": {"condition": nil}},
		"volumes":      {"type": nil, "source": nil, "target": nil, "read_only": nil},
		"networks":     {"*": {}},
		"secrets":      {"source": nil, "target": nil, "uid": nil, "gid": nil, "mode": nil},
		"extends":      nil,
		"profiles":     nil,
		xWharf:         xWharfKeys,
	}

	topKeys = keys{
		"name":     nil,
		"services": {"*": serviceKeys},
		"volumes":  {"*": {}},
		"networks": {"*": {}},
		"secrets":  {"*": {"file": nil, "environment": nil, "external": nil, "name": nil, "driver": nil, "template_driver": nil}},
	}
)

// warner collects warnings, placing them with the index.
type warner struct {
	ix    index
	order map[string]int // file display name -> position in Options.Files
	list  []Warning
	seen  map[Warning]bool
	wd    string // the working dir, for the names of extended files
	// untrusted: no file but the one given is read (LoadUntrusted).
	untrusted bool
}

func (w *warner) add(l loc, key, msg string) {
	wn := Warning{File: l.file, Line: l.line, Key: key, Message: msg}
	if w.seen == nil {
		w.seen = map[Warning]bool{}
	}
	if w.seen[wn] {
		return
	}
	w.seen[wn] = true
	w.list = append(w.list, wn)
}

// at adds a warning about path, placed where the files last wrote it.
func (w *warner) at(path, msg string) {
	w.add(w.ix.at(path), path, msg)
}

// in adds a warning about the entry of the list at path that contains
// needle (see index.find).
func (w *warner) in(path, needle, msg string) {
	p, l := w.ix.find(path, needle)
	w.add(l, p, msg)
}

// sorted returns the warnings in file order, then by line and key.
func (w *warner) sorted() []Warning {
	slices.SortStableFunc(w.list, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(w.order[a.File], w.order[b.File]), cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Message, b.Message))
	})
	return w.list
}

// err is the warnings as one error, for Strict.
func (w *warner) err() error {
	var errs []error
	for _, wn := range w.sorted() {
		errs = append(errs, errors.New(wn.String()))
	}
	return errors.Join(errs...)
}

// checkKeys reports every key of file s that Wharf does not map. Services
// in skip (disabled by profiles) are left alone.
func (w *warner) checkKeys(s *source, skip map[string]bool) {
	if s.root == nil {
		return
	}
	for _, p := range pairs(s.root) {
		k := p.key.Value
		switch {
		case strings.HasPrefix(k, "x-"):
			continue
		case k == "version":
			w.add(loc{file: s.display, line: p.key.Line}, k, "is obsolete; ignored")
			continue
		case k == "services":
			for _, sp := range pairs(p.value) {
				if skip[sp.key.Value] {
					continue
				}
				w.walk(s.display, "services."+sp.key.Value, sp.value, serviceKeys, 0)
				w.checkExtends(s, "services."+sp.key.Value, sp.value, 0)
			}
			continue
		}
		sub, ok := topKeys[k]
		if !ok {
			w.add(loc{file: s.display, line: p.key.Line}, k, msgUnsupported)
			continue
		}
		w.walk(s.display, k, p.value, sub, 0)
	}
}

func (w *warner) walk(file, path string, n *yaml.Node, schema keys, depth int) {
	n = resolve(n)
	if n == nil || schema == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, e := range n.Content {
			if e := resolve(e); e != nil && e.Kind == yaml.MappingNode {
				w.walkMap(file, join(path, fmt.Sprint(i)), e, schema, depth+1)
			}
		}
	case yaml.MappingNode:
		w.walkMap(file, path, n, schema, depth)
	}
}

func (w *warner) walkMap(file, path string, n *yaml.Node, schema keys, depth int) {
	for _, p := range pairs(n) {
		k := p.key.Value
		if strings.HasPrefix(k, "x-") && k != xWharf {
			continue
		}
		sub, ok := schema[k]
		if !ok {
			sub, ok = schema["*"]
		}
		if !ok {
			w.add(loc{file: file, line: p.key.Line}, join(path, k), msgUnsupported)
			continue
		}
		w.walk(file, join(path, k), p.value, sub, depth+1)
	}
}

// checkExtends reports the unsupported keys of a service that the service
// at path extends from another file: compose-go merges them into it.
func (w *warner) checkExtends(s *source, path string, svc *yaml.Node, depth int) {
	ext := lookup(svc, "extends")
	if w.untrusted || ext == nil || ext.Kind != yaml.MappingNode || depth > 8 {
		return
	}
	file, name := lookup(ext, "file"), lookup(ext, "service")
	if file == nil || name == nil || file.Kind != yaml.ScalarNode || name.Kind != yaml.ScalarNode || file.Value == "" {
		return
	}
	f := file.Value
	if !filepath.IsAbs(f) {
		f = filepath.Join(filepath.Dir(s.path), f)
	}
	base, err := readSource(f, display(w.wd, f))
	if err != nil || base.root == nil {
		return // compose-go has said what is wrong with it
	}
	bsvc := lookup(lookup(base.root, "services"), name.Value)
	if bsvc == nil {
		return
	}
	if _, ok := w.order[base.display]; !ok {
		w.order[base.display] = len(w.order)
	}
	w.walk(base.display, path, bsvc, serviceKeys, 0)
	w.checkExtends(base, path, bsvc, depth+1)
}
