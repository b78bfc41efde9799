package records

import "github.com/wharfhq/wharf/api"

// Secret is a secret as the store keeps it: its value sealed with the
// cluster's data key (seal.Sealer) for the purpose SealPurpose(org, name).
type Secret struct {
	api.Meta
	Sealed  string `json:"sealed"`
	Size    int    `json:"size"`
	Version int64  `json:"version"`
}

// SealPurpose is the purpose a secret's value is sealed for: a sealed
// value copied to another secret's record does not open.
func SealPurpose(org, name string) string { return "secret/" + org + "/" + name }

// Wire is the secret's metadata as the API shows it, without the value.
func (s *Secret) Wire() api.Secret {
	return api.Secret{Meta: s.Meta, Size: s.Size, Version: s.Version}
}

// SecretNameKey is the ID of a secret's name index (store.KindNames):
// secret names are per organization, like every name.
func SecretNameKey(org, name string) string { return NameKey("secrets", org, name) }
