package apiserver

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"time"
)

// Secrets are 32 random bytes in lower-case base32 without padding; the
// store keeps only their SHA-256, in hex. (Kept here, not in pki, so this
// package stands alone.)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newSecret returns 32 random bytes, base32, lower case, unpadded.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return lower(b32.EncodeToString(b[:]))
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// newAPIToken returns a new API token secret: "wharf_" and a secret.
func newAPIToken() string { return "wharf_" + newSecret() }

// hashSecret is the hex SHA-256 of a secret, as stored.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// hashID is the store ID of the object holding a hash: its first 16 hex
// digits, so a lookup is one Get.
func hashID(hash string) string { return hash[:16] }

// sameHash compares two hashes in constant time.
func sameHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newTimeID returns an ID that sorts by creation time: 16 hex digits of Unix
// nanoseconds and 4 random hex digits.
func newTimeID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x%s", time.Now().UnixNano(), hex.EncodeToString(b[:]))
}
