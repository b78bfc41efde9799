package records

import "github.com/wharfhq/wharf/api"

// ACMEEntry is one entry of an organization's ACME cache as the store
// keeps it (store.KindACME, ID ACMEEntryID): its value (an account key, a
// certificate with its private key, a challenge token) sealed with the
// cluster's data key for the purpose ACMEPurpose(org, key). Meta.Org is
// the organization ("default" for the default one), Meta.Name the key.
// It never goes on the API's wire; router nodes read it over their
// agent session (api.ACMECacheRequest).
type ACMEEntry struct {
	api.Meta
	Sealed string `json:"sealed"`
	Size   int    `json:"size"`
}

// ACMEEntryID is the stored ID of org's entry key: all of an
// organization's under ACMEPrefix(org). Organization names have no ".",
// so the prefix of one is never another's.
func ACMEEntryID(org, key string) string { return ACMEPrefix(org) + key }

// ACMEPrefix starts the IDs of org's ACME cache entries.
func ACMEPrefix(org string) string { return org + "." }

// ACMEPurpose is the purpose an ACME cache value is sealed for: a sealed
// value copied to another entry, or another organization's, does not
// open.
func ACMEPurpose(org, key string) string { return "acme/" + org + "/" + key }
