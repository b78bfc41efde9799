package domain

import "context"

// A front door that records an audit action for a call gives the call a
// context from Noting; the operation notes there the ID of the object it
// acted on once it knows it (a name is resolved to an ID), so the action
// names the object even when the call then fails.

type noteKey struct{}

// Note is what an operation learned about its call for the audit trail.
type Note struct {
	// Object is the ID of the object the call acted on.
	Object string
}

// Noting returns ctx carrying n; operations called with it fill n in.
func Noting(ctx context.Context, n *Note) context.Context {
	return context.WithValue(ctx, noteKey{}, n)
}

// noteObject records the ID of the object a call acts on.
func noteObject(ctx context.Context, id string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.Object = id
	}
}
