package domain

import (
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Actor is who calls an operation: the identity recorded in the audit
// trail, the organization the call acts in, and the role that decides
// what it may do. Front doors make one from their credential (the REST
// API from an API token, see Domain.Authenticate); operations never look
// at the credential itself.
type Actor struct {
	// Name is who acts, as the audit trail shows it (the token's name).
	Name string
	// Token is the ID of the API token the call came with ("" for the
	// server acting on its own).
	Token string
	// Org is the organization the call acts in. Wharf has one today,
	// named by the empty string.
	Org string
	// Role is api.RoleReadOnly, api.RoleDeploy or api.RoleAdmin; anything
	// else is taken as read-only.
	Role string
}

// System is the server acting on its own behalf (bootstrap, migrations).
var System = Actor{Name: "system", Role: api.RoleAdmin}

// Area is a part of Wharf that access is granted on, as Docker Cloud's
// team permissions had them.
type Area string

// The areas.
const (
	// AreaApps: services, stacks, containers, their logs and exec, the
	// events and the audit trail about them.
	AreaApps Area = "applications"
	// AreaNodes: nodes and join tokens.
	AreaNodes Area = "nodes"
	// AreaTokens: API tokens.
	AreaTokens Area = "tokens"
	// AreaSecrets: secrets. Read sees names and metadata, never a value;
	// Write creates, updates and removes them.
	AreaSecrets Area = "secrets"
)

// Level is how much an actor may do in an area; each level includes the
// ones below it.
type Level int

// The levels.
const (
	// NoAccess: nothing.
	NoAccess Level = iota
	// Read: look (list, inspect, logs, events).
	Read
	// Write: change (create, update, scale, start, stop, redeploy,
	// remove; label nodes).
	Write
	// Admin: everything, including exec into containers, removing nodes
	// and managing tokens and join tokens.
	Admin
)

// grant is the level a role has in an area. Unknown roles get a
// read-only token's grants (the least privilege).
func grant(role string, area Area) Level {
	switch role {
	case api.RoleAdmin:
		return Admin
	case api.RoleDeploy:
		switch area {
		case AreaApps, AreaSecrets:
			return Write
		case AreaNodes:
			return Read
		}
		return NoAccess
	}
	if area == AreaTokens {
		return NoAccess
	}
	return Read
}

// effectiveRole is the role the actor acts with, read-only when unknown.
func (a Actor) effectiveRole() string {
	switch a.Role {
	case api.RoleAdmin, api.RoleDeploy:
		return a.Role
	}
	return api.RoleReadOnly
}

// May reports whether the actor has at least level in area.
func (a Actor) May(area Area, level Level) bool { return grant(a.effectiveRole(), area) >= level }

// need is nil when the actor has level in area, else a forbidden error
// that says what the call needs.
func (a Actor) need(area Area, level Level) error {
	if a.May(area, level) {
		return nil
	}
	role := a.effectiveRole()
	switch {
	case level == Admin || area == AreaTokens || area == AreaNodes && level >= Write:
		return errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("token %q is a %s token; this needs an admin token", a.Name, role))
	case role == api.RoleReadOnly:
		return errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("token %q is read-only: it may only GET; changing services, stacks and containers needs a deploy or admin token", a.Name))
	}
	return errdefs.New(errdefs.ErrForbidden, fmt.Sprintf("token %q is a %s token; this needs an admin token", a.Name, role))
}
