package errdefs

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// errdefs is a leaf: every package of Wharf may define its errors in its
// terms, so it must import none of them (the store imports errdefs).
func TestImportsNothingOfWharf(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/wharfhq/wharf/") {
				t.Errorf("%s imports %s: errdefs must import nothing of Wharf's", name, path)
			}
		}
	}
}
