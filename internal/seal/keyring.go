package seal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// keyringID is the keyring's document among store.KindCluster.
const keyringID = "keyring"

// keyringVersion is the format of Keyring; a newer one is refused.
const keyringVersion = 1

// wrapAD binds a wrapped data key to its use.
var wrapAD = []byte("wharf keyring v1: data key")

// Keyring is the cluster's data key as stored: wrapped by the KEK, which
// is not in the store. Every server sharing the store shares it.
type Keyring struct {
	api.Meta
	Version int `json:"version"`
	// WrappedKey is base64url(nonce || AES-256-GCM(KEK, data key)).
	WrappedKey string `json:"wrapped_key"`
	// Autolock: the KEK is on no server's disk; servers start locked
	// until the operator gives it (wharf server unlock).
	Autolock bool `json:"autolock"`
}

// LoadKeyring reads the cluster's keyring; store.ErrNotFound if the
// cluster has none yet (a new cluster, or one made before sealing).
func LoadKeyring(ctx context.Context, st *store.Store) (*Keyring, error) {
	var kr Keyring
	if err := st.Get(ctx, store.KindCluster, keyringID, &kr); err != nil {
		return nil, err
	}
	if kr.Version != keyringVersion {
		return nil, fmt.Errorf("the cluster's keyring has format %d; this wharf reads %d: run a newer wharf", kr.Version, keyringVersion)
	}
	return &kr, nil
}

// CreateKeyring makes the cluster's data key, wrapped by kek, and stores
// it. store.ErrExists: another server made one first (load that one).
func CreateKeyring(ctx context.Context, st *store.Store, kek KEK, autolock bool) (*Keyring, *Sealer, error) {
	dataKey := make([]byte, keySize)
	kr := &Keyring{Meta: api.Meta{ID: keyringID}, Version: keyringVersion, Autolock: autolock}
	if err := kr.wrap(kek, dataKey, true); err != nil {
		return nil, nil, err
	}
	s, err := newSealer(dataKey)
	if err != nil {
		return nil, nil, err
	}
	if err := st.Create(ctx, store.KindCluster, kr); err != nil {
		return nil, nil, err
	}
	return kr, s, nil
}

// Open unwraps the data key with kek: ErrWrongKey if kek is not the one
// that wrapped it.
func (kr *Keyring) Open(kek KEK) (*Sealer, error) {
	dataKey, err := kr.unwrap(kek)
	if err != nil {
		return nil, err
	}
	return newSealer(dataKey)
}

// Rewrap replaces the KEK (and the autolock setting): the data key, and so
// every sealed secret, stays as it is. It fails with store.ErrConflict if
// the keyring changed since it was loaded.
func (kr *Keyring) Rewrap(ctx context.Context, st *store.Store, oldKEK, newKEK KEK, autolock bool) error {
	dataKey, err := kr.unwrap(oldKEK)
	if err != nil {
		return err
	}
	next := *kr
	next.Autolock = autolock
	if err := next.wrap(newKEK, dataKey, false); err != nil {
		return err
	}
	if err := st.Update(ctx, store.KindCluster, &next); err != nil {
		return err
	}
	*kr = next
	return nil
}

// wrap encrypts dataKey with kek into kr; fresh fills dataKey with a new
// random key first.
func (kr *Keyring) wrap(kek KEK, dataKey []byte, fresh bool) error {
	if fresh {
		k, err := NewKEK() // the same 32 random bytes a data key needs
		if err != nil {
			return err
		}
		copy(dataKey, k.b[:])
	}
	aead, err := newAEAD(kek.b[:])
	if err != nil {
		return err
	}
	b, err := encrypt(aead, wrapAD, dataKey)
	if err != nil {
		return err
	}
	kr.WrappedKey = base64.RawURLEncoding.EncodeToString(b)
	return nil
}

func (kr *Keyring) unwrap(kek KEK) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(kr.WrappedKey)
	if err != nil {
		return nil, errors.New("the cluster's keyring is damaged (wrapped key is not base64)")
	}
	aead, err := newAEAD(kek.b[:])
	if err != nil {
		return nil, err
	}
	return decrypt(aead, wrapAD, b)
}
