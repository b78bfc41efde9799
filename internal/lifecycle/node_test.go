package lifecycle

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

var nodeStates = []api.NodeState{"", api.NodeDeploying, api.NodeDeployed, api.NodeUnreachable,
	api.NodeUpgrading, api.NodeTerminating, api.NodeTerminated}

// The node lifecycle: the moves the components make are allowed, the
// others refused, and a refused move changes nothing.
func TestNodeMoves(t *testing.T) {
	allowed := map[[2]api.NodeState]bool{}
	for _, m := range [][2]api.NodeState{
		{"", api.NodeDeploying},                    // join
		{api.NodeDeployed, api.NodeDeploying},      // rejoin
		{api.NodeUnreachable, api.NodeDeploying},   // rejoin
		{api.NodeUpgrading, api.NodeDeploying},     // rejoin
		{"", api.NodeDeployed},                     // hello
		{api.NodeDeploying, api.NodeDeployed},      // hello
		{api.NodeUnreachable, api.NodeDeployed},    // hello, heartbeat
		{api.NodeDeployed, api.NodeUnreachable},    // silence
		{api.NodeDeploying, api.NodeTerminating},   // node rm
		{api.NodeDeployed, api.NodeTerminating},    // node rm
		{api.NodeUnreachable, api.NodeTerminating}, // node rm
		{api.NodeUpgrading, api.NodeTerminating},   // node rm
		{api.NodeDeploying, api.NodeTerminated},    // node rm
		{api.NodeDeployed, api.NodeTerminated},     // node rm
		{api.NodeUnreachable, api.NodeTerminated},  // node rm
		{api.NodeUpgrading, api.NodeTerminated},    // node rm
		{api.NodeTerminating, api.NodeTerminated},  // drained, or forced
	} {
		allowed[m] = true
	}
	for _, from := range nodeStates {
		for _, to := range nodeStates {
			want := from == to || allowed[[2]api.NodeState{from, to}]
			if got := NodeMoveAllowed(from, to); got != want {
				t.Errorf("NodeMoveAllowed(%q, %q) = %v, want %v", from, to, got, want)
			}
			n := api.Node{Meta: api.Meta{ID: "n1"}, Hostname: "h1", State: from}
			ev, moved, err := MoveNode(&n, to, "why")
			switch {
			case !want && (!errors.Is(err, ErrNodeMove) || n.State != from || moved):
				t.Errorf("MoveNode %q -> %q: %v, state %q, moved %v; want refused and unchanged", from, to, err, n.State, moved)
			case want && (err != nil || n.State != to || moved != (from != to)):
				t.Errorf("MoveNode %q -> %q: %v, state %q, moved %v", from, to, err, n.State, moved)
			case want && (ev.Kind != "node" || ev.Object != "n1" || ev.Name != "h1" || ev.State != string(to) || ev.Message != "why"):
				t.Errorf("MoveNode %q -> %q: event %+v", from, to, ev)
			}
		}
	}
	// Some refusals spelled out: a node being removed never comes back.
	for _, m := range [][2]api.NodeState{
		{api.NodeTerminating, api.NodeDeployed}, {api.NodeTerminating, api.NodeDeploying},
		{api.NodeTerminated, api.NodeDeployed}, {api.NodeTerminating, api.NodeUnreachable},
		{api.NodeDeploying, api.NodeUnreachable}, {api.NodeDeployed, api.NodeUpgrading},
	} {
		if NodeMoveAllowed(m[0], m[1]) {
			t.Errorf("%s -> %s allowed", m[0], m[1])
		}
	}
	n := api.Node{}
	if ev, err := NewNode(&n, "joined"); err != nil || n.State != api.NodeDeploying || n.Availability != api.AvailabilityActive || ev.Type != "created" {
		t.Errorf("NewNode: %v, state %q, event %+v", err, n.State, ev)
	}
	if ev, _, _ := MoveNode(&api.Node{State: api.NodeTerminating}, api.NodeTerminated, ""); ev.Type != "deleted" {
		t.Errorf("a Terminated node's event is %q, want deleted", ev.Type)
	}
}

// Every write of a node's state goes through MoveNode: outside this
// package, no code of Wharf's (api, cmd, internal; tests aside) sets a
// State field to a node state or to a variable. A State set to a constant
// of another kind (a container's, a service's, a driver's) or to a string
// (an event's) is no node's, nor one in a literal of another package's
// type (moby's container.Summary); a State of another type that must be
// set from a variable can be set through a constructor, or this rule
// refined.
func TestOnlyMoveNodeWritesNodeState(t *testing.T) {
	eachWharfSource(t, func(fset *token.FileSet, f *ast.File) {
		// Fields of another package's types (moby's container.State,
		// which the Docker endpoint fills) are no node's.
		foreign := map[ast.Node]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CompositeLit:
				if sel, ok := x.Type.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name != "api" {
						for _, el := range x.Elts {
							foreign[el] = true
						}
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range x.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "State" && i < len(x.Rhs) && mayBeNodeState(x.Rhs[i]) {
						t.Errorf("%s: a State is set outside lifecycle.MoveNode", fset.Position(x.Pos()))
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "State" && !foreign[x] && mayBeNodeState(x.Value) {
					t.Errorf("%s: a State is set outside lifecycle.MoveNode", fset.Position(x.Pos()))
				}
			}
			return true
		})
	})
}

// eachWharfSource parses every Go file of Wharf's own (api, cmd, internal;
// tests, testdata and this package aside) and hands it to check: the
// walk of the rules that only this package writes a field.
func eachWharfSource(t *testing.T, check func(*token.FileSet, *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	for _, dir := range []string{"api", "cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join("..", "..", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); name == "lifecycle" || name == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			check(fset, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// mayBeNodeState: e is a node state constant (api.Node...) or something
// other than a qualified constant or a string conversion.
func mayBeNodeState(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.SelectorExpr:
		pkg, ok := v.X.(*ast.Ident)
		return !ok || pkg.Name == "api" && strings.HasPrefix(v.Sel.Name, "Node")
	case *ast.CallExpr:
		fn, ok := v.Fun.(*ast.Ident)
		return !ok || fn.Name != "string"
	}
	return true
}
