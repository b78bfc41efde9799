package domain

import (
	"cmp"
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// Actor is who calls an operation: the identity recorded in the audit
// trail, the organization the call acts in, what the caller's teams grant
// there, and the role its token is narrowed to. Front doors make one from
// their credential (the REST API from an API token, see
// Domain.Authenticate); operations never look at the credential itself.
type Actor struct {
	// Name is who acts, as the audit trail shows it: the user's name, or
	// the token's name for a token that belongs to no user.
	Name string
	// User is the ID of the user acting ("" for a token of no user: a
	// token made before users existed, or a team's robot token).
	User string
	// Token is the ID of the API token the call came with ("" for the
	// server acting on its own).
	Token string
	// Org is the organization the call acts in ("" is DefaultOrg).
	Org string
	// Access is what the actor's teams grant in Org, per area. The zero
	// value grants nothing.
	Access Access
	// Role narrows Access to what a token of that role may do
	// (api.RoleReadOnly, api.RoleDeploy, api.RoleAdmin); "" narrows
	// nothing. An unknown role narrows to read-only.
	Role string
	// onlyRepo, when set, is the one registry repository the actor may
	// use (a build push credential's): AuthorizeRegistry refuses any
	// other, and the catalog lists it alone.
	onlyRepo string
	// seenRev is the store revision the actor's API token was read at
	// (Authenticate): see FreshCall. 0 when the actor was not made so.
	seenRev int64
}

// DefaultOrg is the organization that everything made before
// organizations existed belongs to, and the one `wharf up` makes.
const DefaultOrg = "default"

// OrgName is the organization an object or actor with org field o is in.
func OrgName(o string) string {
	if o == "" {
		return DefaultOrg
	}
	return o
}

// System is the server acting on its own behalf (bootstrap, migrations).
var System = Actor{Name: "system", Org: DefaultOrg, Access: FullAccess()}

// Area is a part of Wharf that access is granted on, as Docker Cloud's
// team permissions had them.
type Area string

// The areas.
const (
	// AreaApps: services, stacks, containers, their logs and exec, the
	// organization's networks, and its events and audit trail.
	AreaApps Area = "applications"
	// AreaNodes: nodes and join tokens.
	AreaNodes Area = "nodes"
	// AreaSecrets: secrets (their values are never read back).
	AreaSecrets Area = "secrets"
	// AreaRegistry: the images of the organization's registry.
	AreaRegistry Area = "registry"
	// AreaOrg: the organization itself: its teams, their members and
	// access, its robot tokens, every token of the organization, quotas.
	// Only the Owners team has it.
	AreaOrg Area = "organization"
	// AreaServer: the server itself: its users and organizations. No team
	// grants it: Domain.Authenticate gives Admin in it to the server's
	// administrators (the owners of organization "default", and tokens
	// of no user in "default" with the admin role).
	AreaServer Area = "server"
)

// Areas are the areas, in the order tables show them.
var Areas = []Area{AreaApps, AreaNodes, AreaSecrets, AreaRegistry, AreaOrg}

// Level is how much an actor may do in an area; each level includes the
// ones below it.
type Level int

// The levels, Docker Cloud's.
const (
	NoAccess Level = iota
	Read
	ReadWrite
	Admin
)

// Levels are the levels' names as users write them, lowest first.
var Levels = []string{"none", "read", "read-write", "admin"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(Levels) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return Levels[l]
}

// ParseLevel reads a level's name.
func ParseLevel(s string) (Level, error) {
	for i, n := range Levels {
		if s == n {
			return Level(i), nil
		}
	}
	return NoAccess, fmt.Errorf("unknown access level %q: want none, read, read-write or admin", s)
}

// Access is a level per area; an area not in the map is NoAccess.
type Access map[Area]Level

// FullAccess is Admin in every area and on the server: the System
// actor's, and that of a token of no user in "default" (the first admin
// token); Authenticate takes AreaServer away from everyone else.
func FullAccess() Access {
	a := OwnerAccess()
	a[AreaServer] = Admin
	return a
}

// OwnerAccess is Admin in every area of an organization: the Owners
// team's access.
func OwnerAccess() Access {
	a := Access{}
	for _, ar := range Areas {
		a[ar] = Admin
	}
	return a
}

// Add raises a to at least b in every area (a user's teams add up).
func (a Access) Add(b Access) {
	for ar, l := range b {
		if l > a[ar] {
			a[ar] = l
		}
	}
}

// Verb is one thing an actor may ask for. Each verb needs a level in one
// area (verbs, below: the table docs/accounts.md shows).
type Verb string

// The verbs.
const (
	AppsView      Verb = "apps.view"      // list and inspect services, stacks, containers, routes; events; the audit trail
	AppsLogs      Verb = "apps.logs"      // container and service logs
	AppsOperate   Verb = "apps.operate"   // start, stop, redeploy, scale
	AppsDeploy    Verb = "apps.deploy"    // create, update, remove services; deploy and remove stacks
	AppsExec      Verb = "apps.exec"      // run a command in a container
	NetworksView  Verb = "networks.view"  // list and inspect networks
	NetworksWrite Verb = "networks.write" // create and remove networks
	NodesView     Verb = "nodes.view"     // list and inspect nodes
	NodesLabel    Verb = "nodes.label"    // set a node's labels
	NodesRemove   Verb = "nodes.remove"   // drain and terminate nodes
	NodesJoin     Verb = "nodes.join"     // make, list and revoke join tokens
	SecretsView   Verb = "secrets.view"   // list secrets and their metadata (never values)
	SecretsWrite  Verb = "secrets.write"  // create and update secrets
	SecretsAdmin  Verb = "secrets.admin"  // remove secrets
	RegistryPull  Verb = "registry.pull"  // pull images
	RegistryPush  Verb = "registry.push"  // push images
	RegistryAdmin Verb = "registry.admin" // delete images
	OrgManage     Verb = "org.manage"     // teams, members, access, robot tokens, every token of the organization
	ServerAdmin   Verb = "server.admin"   // users, organizations, their quotas (the server's administrators only)
)

// need is the area and level a verb needs.
type need struct {
	area  Area
	level Level
}

var verbs = map[Verb]need{
	AppsView: {AreaApps, Read}, AppsLogs: {AreaApps, Read},
	AppsOperate: {AreaApps, ReadWrite},
	AppsDeploy:  {AreaApps, Admin}, AppsExec: {AreaApps, Admin},
	NetworksView: {AreaApps, Read}, NetworksWrite: {AreaApps, ReadWrite},
	NodesView: {AreaNodes, Read}, NodesLabel: {AreaNodes, ReadWrite},
	NodesRemove: {AreaNodes, Admin}, NodesJoin: {AreaNodes, Admin},
	SecretsView: {AreaSecrets, Read}, SecretsWrite: {AreaSecrets, ReadWrite}, SecretsAdmin: {AreaSecrets, Admin},
	RegistryPull: {AreaRegistry, Read}, RegistryPush: {AreaRegistry, ReadWrite}, RegistryAdmin: {AreaRegistry, Admin},
	OrgManage:   {AreaOrg, Admin},
	ServerAdmin: {AreaServer, Admin},
}

// Verbs are every verb, in a fixed order (for tables and tests).
var Verbs = []Verb{AppsView, AppsLogs, AppsOperate, AppsDeploy, AppsExec, NetworksView, NetworksWrite, NodesView, NodesLabel, NodesRemove, NodesJoin,
	SecretsView, SecretsWrite, SecretsAdmin, RegistryPull, RegistryPush, RegistryAdmin, OrgManage, ServerAdmin}

// Needs is the area and level v needs.
func (v Verb) Needs() (Area, Level) { n := verbs[v]; return n.area, n.level }

// roleAllows is whether a token narrowed to role may use v at all:
// read-only tokens only look; deploy tokens also change applications,
// secrets and images, but neither exec, nor touch nodes beyond looking,
// nor manage tokens or the organization; admin tokens are not narrowed.
func roleAllows(role string, v Verb) bool {
	switch role {
	case "", api.RoleAdmin:
		return true
	case api.RoleDeploy:
		switch v {
		case AppsExec, NodesLabel, NodesRemove, NodesJoin, OrgManage, RegistryAdmin, ServerAdmin:
			return false
		}
		return true
	}
	return verbs[v].level == Read
}

// effectiveRole is the role the actor's token is narrowed to, read-only
// when unknown.
func (a Actor) effectiveRole() string {
	switch a.Role {
	case "", api.RoleAdmin, api.RoleDeploy:
		return a.Role
	}
	return api.RoleReadOnly
}

// Can reports whether the actor may use v.
func (a Actor) Can(v Verb) bool {
	n, ok := verbs[v]
	return ok && a.Access[n.area] >= n.level && roleAllows(a.effectiveRole(), v)
}

// need is nil when the actor may use v, else a forbidden error that says
// what the call needs and why the actor does not have it.
func (a Actor) need(v Verb) error {
	if a.Can(v) {
		return nil
	}
	n := verbs[v]
	if n.area == AreaServer && a.Access[n.area] < n.level {
		return newErr(errdefs.ErrForbidden, "%s is not an administrator of this server: only the owners of organization %q manage users and organizations", cmp.Or(a.Name, "an anonymous caller"), DefaultOrg)
	}
	if a.Access[n.area] >= n.level {
		// The token's role narrowed it out.
		role := a.effectiveRole()
		if role == api.RoleReadOnly {
			return newErr(errdefs.ErrForbidden, "token %q is read-only: it may only GET; changing services, stacks and containers needs a deploy or admin token", a.Name)
		}
		return newErr(errdefs.ErrForbidden, "token %q is a %s token; this needs an admin token", a.Name, role)
	}
	return newErr(errdefs.ErrForbidden, "%s has %s access to %s in organization %q; %s needs %s: ask an owner of the organization for it",
		a.Name, a.Access[n.area], n.area, OrgName(a.Org), v, n.level)
}
