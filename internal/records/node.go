package records

import "github.com/wharfhq/wharf/api"

// Node is a node as stored: nodes are kept in their wire form (no field
// of theirs is secret), so this is api.Node under the name the server's
// components use for stored objects.
type Node = api.Node
