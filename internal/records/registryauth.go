package records

import "github.com/wharfhq/wharf/api"

// RegistryAuth is an organization's credential for one registry host, as
// the store keeps it (store.KindRegistryAuths, ID RegistryAuthID): the
// user in clear, the password sealed with the cluster's data key for the
// purpose RegistryAuthPurpose(org, host). Meta.Name is the host.
type RegistryAuth struct {
	api.Meta
	Username string `json:"username"`
	Sealed   string `json:"sealed"`
}

// RegistryAuthID is the stored ID of org's credential for host (a
// normalized host, see api.NormalizeRegistryHost): one per organization
// and host, all of an organization's under the prefix
// RegistryAuthPrefix(org). Organization names have no ".", so the
// prefix of one is never another's.
func RegistryAuthID(org, host string) string { return RegistryAuthPrefix(org) + host }

// RegistryAuthPrefix starts the IDs of org's registry credentials.
func RegistryAuthPrefix(org string) string { return org + "." }

// RegistryAuthPurpose is the purpose a registry password is sealed for:
// a sealed value copied to another record does not open.
func RegistryAuthPurpose(org, host string) string { return "registry/" + org + "/" + host }

// Wire is the credential as the API shows it: host and user, never the
// password.
func (r *RegistryAuth) Wire() api.RegistryLogin {
	return api.RegistryLogin{Host: r.Name, Username: r.Username, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
