package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesBite breaks the rules on purpose, through a go build overlay
// over the real module (no file of the tree changes), and checks that the
// check fails and names each broken rule with the chain of imports. The
// scheduler reaches net/http only through a helper package: its direct
// imports stay clean, so only a transitive check sees it.
func TestRulesBite(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	files := map[string]string{
		// scheduler -> badhelper -> net/http
		"internal/scheduler/zz_bad.go": "package scheduler\n\nimport _ \"github.com/wharfhq/wharf/internal/badhelper\"\n",
		"internal/badhelper/helper.go": "// Package badhelper is a deliberately bad import.\npackage badhelper\n\nimport _ \"net/http\"\n",
		// the agent reads the store through a helper
		"internal/agent/zz_bad.go":    "package agent\n\nimport _ \"github.com/wharfhq/wharf/internal/badstore\"\n",
		"internal/badstore/helper.go": "// Package badstore is a deliberately bad import.\npackage badstore\n\nimport _ \"github.com/wharfhq/wharf/internal/store\"\n",
		// a client command of the CLI reaches into the server
		"internal/cli/zz_bad.go": "package cli\n\nimport _ \"github.com/wharfhq/wharf/internal/apiserver\"\n",
		// the binary links an attacker
		"internal/controller/zz_bad.go": "package controller\n\nimport _ \"github.com/wharfhq/wharf/internal/hostile\"\n",
	}
	replace := map[string]string{}
	for name, src := range files {
		p := filepath.Join(tmp, strings.ReplaceAll(name, "/", "_"))
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		replace[filepath.Join(root, name)] = p
	}
	overlay := filepath.Join(tmp, "overlay.json")
	b, _ := json.Marshal(map[string]any{"Replace": replace})
	if err := os.WriteFile(overlay, b, 0o600); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	ok, err := check(root, filepath.Join(root, "scripts/import-rules.txt"), overlay, &out)
	if err != nil {
		t.Fatal(err)
	}
	report := out.String()
	t.Log(report)
	if ok {
		t.Fatal("the check passed with deliberately bad imports")
	}
	for _, want := range []string{
		"import rule broken: forbid ./internal/scheduler net net/http",
		"internal/scheduler -> internal/badhelper -> net/http",
		"import rule broken: only ./internal/scheduler ./api",
		"import rule broken: forbid ./internal/agent ./internal/store",
		"internal/agent -> internal/badstore -> internal/store",
		"import rule broken: only ./internal/cli except=",
		"internal/cli (zz_bad.go) -> internal/apiserver",
		"import rule broken: testonly ./internal/hostile",
		"internal/controller -> internal/hostile",
		"internal/server -> internal/controller -> internal/hostile",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(report, "import rule broken: only ./api/...") {
		t.Error("a rule that still holds is reported broken")
	}
}

// TestRulesHoldOnTree: the tree as committed meets every enforced rule.
func TestRulesHoldOnTree(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ok, err := check(root, filepath.Join(root, "scripts/import-rules.txt"), "", &out)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("import rules broken:\n%s", out.String())
	}
}

// TestParseRules: malformed lines are refused with their line number.
func TestParseRules(t *testing.T) {
	for _, bad := range []string{
		"only ./api",                               // no reason
		"forbid ./api : why",                       // forbid nothing
		"allow ./api ./x : why",                    // unknown kind
		"only ./internal/cli except=[ ./api : why", // bad glob
		"testonly : why",                           // no packages
	} {
		if _, err := parseRules(strings.NewReader("# c\n\n" + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%q: err %v, want one naming line 3", bad, err)
		}
	}
	rs, err := parseRules(strings.NewReader("pending only ./internal/errdefs : a leaf\n"))
	if err != nil || len(rs) != 1 || !rs[0].pending || rs[0].kind != "only" || len(rs[0].packages) != 0 || rs[0].reason != "a leaf" {
		t.Fatalf("got %+v, %v", rs, err)
	}
}
