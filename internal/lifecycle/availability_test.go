package lifecycle

import (
	"errors"
	"go/ast"
	"go/token"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestSetAvailability(t *testing.T) {
	for _, tc := range []struct {
		state     api.NodeState
		from, to  api.NodeAvailability
		ok, moved bool
	}{
		{api.NodeDeployed, "", api.AvailabilityDrain, true, true},
		{api.NodeDeployed, "", api.AvailabilityActive, true, false}, // "" is active
		{api.NodeUnreachable, api.AvailabilityDrain, api.AvailabilityPause, true, true},
		{api.NodeDeploying, api.AvailabilityPause, api.AvailabilityPause, true, false},
		{api.NodeDeployed, "", "Drain", false, false},
		{api.NodeDeployed, "", "", false, false},
		{api.NodeTerminating, "", api.AvailabilityDrain, false, false},
		{api.NodeTerminated, api.AvailabilityPause, api.AvailabilityActive, false, false},
	} {
		n := api.Node{Meta: api.Meta{ID: "n1"}, Hostname: "h1", State: tc.state, Availability: tc.from}
		ev, moved, err := SetAvailability(&n, tc.to, "why")
		switch {
		case !tc.ok && (!errors.Is(err, ErrAvailability) || n.Availability != tc.from || moved):
			t.Errorf("%s %q -> %q: %v, now %q, moved %v; want refused and unchanged", tc.state, tc.from, tc.to, err, n.Availability, moved)
		case tc.ok && (err != nil || n.Availability != tc.to || moved != tc.moved):
			t.Errorf("%s %q -> %q: %v, now %q, moved %v; want moved %v", tc.state, tc.from, tc.to, err, n.Availability, moved, tc.moved)
		case tc.ok && (ev.Type != "availability" || ev.Object != "n1" || ev.Name != "h1" || ev.Message != "why" || ev.State != string(tc.to)):
			t.Errorf("%s %q -> %q: event %+v", tc.state, tc.from, tc.to, ev)
		}
	}
}

// Every write of a node's availability goes through SetAvailability:
// outside this package, no code of Wharf's (api, cmd, internal; tests
// aside) assigns an Availability field or sets one in a literal.
func TestOnlySetAvailabilityWritesAvailability(t *testing.T) {
	eachWharfSource(t, func(fset *token.FileSet, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				for _, lhs := range x.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Availability" {
						t.Errorf("%s: an Availability is set outside lifecycle.SetAvailability", fset.Position(x.Pos()))
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Availability" {
					t.Errorf("%s: an Availability is set outside lifecycle.SetAvailability", fset.Position(x.Pos()))
				}
			}
			return true
		})
	})
}
