// Package seal keeps the server's secrets encrypted at rest: the cluster
// CA's private key now, and every secret the server stores from now on
// (registry credentials, service secrets). It is their one owner.
//
// Two keys, as in SwarmKit's autolock. The data key encrypts secrets
// (AES-256-GCM, a random nonce each time); it lives in the store, wrapped
// (encrypted) by the key-encryption key (KEK). The KEK never goes into the
// store: it is a 0600 file in the server's data dir, or, for a locked
// cluster, only in the operator's hands. Rotating the KEK rewraps the data
// key and leaves the secrets as they are.
//
// The package never logs or returns a key or a plaintext in an error.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// keySize is the size of both keys: AES-256.
const keySize = 32

// sealedPrefix marks a sealed value and its format version. A sealed
// value is sealedPrefix + base64url(nonce || AES-GCM ciphertext), with the
// secret's purpose as additional data, so that a ciphertext moved to
// another secret's place does not open.
const sealedPrefix = "wharf-sealed-v1:"

// ErrWrongKey is a key that does not open what it was given: a KEK that
// did not wrap this data key, or a data key that did not seal this value.
var ErrWrongKey = errors.New("wrong key")

// Sealer seals and opens secrets with the cluster's data key. It is safe
// for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

func newSealer(dataKey []byte) (*Sealer, error) {
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext for the secret named purpose (e.g. "cluster/ca").
func (s *Sealer) Seal(purpose string, plaintext []byte) (string, error) {
	b, err := encrypt(s.aead, []byte(purpose), plaintext)
	if err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Open decrypts what Seal made for the same purpose.
func (s *Sealer) Open(purpose, sealed string) ([]byte, error) {
	body, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return nil, fmt.Errorf("secret %s: not a sealed value of a known version", purpose)
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("secret %s: bad encoding", purpose)
	}
	pt, err := decrypt(s.aead, []byte(purpose), b)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", purpose, err)
	}
	return pt, nil
}

// IsSealed reports whether v is a sealed value rather than a plaintext.
func IsSealed(v string) bool { return strings.HasPrefix(v, sealedPrefix) }

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key of %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// encrypt returns nonce || ciphertext.
func encrypt(aead cipher.AEAD, ad, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, ad), nil
}

// decrypt opens nonce || ciphertext. GCM checks the tag in constant time.
func decrypt(aead cipher.AEAD, ad, b []byte) ([]byte, error) {
	if len(b) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrWrongKey
	}
	pt, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return pt, nil
}
