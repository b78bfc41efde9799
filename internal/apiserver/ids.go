package apiserver

import (
	"crypto/rand"
	"encoding/hex"
)

// hashID is the store ID of the object holding a hash: its first 16 hex
// digits, so a lookup is one Get.
func hashID(hash string) string { return hash[:16] }

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
