package seal

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// kekPrefix marks a KEK in text form, as it appears in a KEK file and as
// the unlock key printed for a locked cluster.
const kekPrefix = "WHARF-KEK-1-"

// KEK is a key-encryption key: it wraps the cluster's data key.
type KEK struct{ b [keySize]byte }

// NewKEK makes a random KEK.
func NewKEK() (KEK, error) {
	var k KEK
	_, err := rand.Read(k.b[:])
	return k, err
}

// String is the KEK's text form. It is a secret: print it only to the
// operator, once.
func (k KEK) String() string { return kekPrefix + base64.RawURLEncoding.EncodeToString(k.b[:]) }

// ParseKEK reads a KEK's text form (surrounding space ignored).
func ParseKEK(s string) (KEK, error) {
	var k KEK
	body, ok := strings.CutPrefix(strings.TrimSpace(s), kekPrefix)
	if !ok {
		return k, fmt.Errorf("not a Wharf key-encryption key: it starts with %q", kekPrefix)
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(b) != keySize {
		return k, errors.New("a Wharf key-encryption key with a damaged body: copy it again, whole")
	}
	copy(k.b[:], b)
	return k, nil
}

// ReadKEKFile reads a KEK file. The file must be readable by its owner
// only: a looser one is refused, since the KEK opens every secret.
func ReadKEKFile(path string) (KEK, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return KEK{}, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return KEK{}, fmt.Errorf("key-encryption key file %s has mode %o: make it 0600 (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return KEK{}, err
	}
	k, err := ParseKEK(string(b))
	if err != nil {
		return KEK{}, fmt.Errorf("key-encryption key file %s: %w", path, err)
	}
	return k, nil
}

// WriteKEKFile writes k to a new 0600 file; it never overwrites one.
func WriteKEKFile(path string, k KEK) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(k.String() + "\n"); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
