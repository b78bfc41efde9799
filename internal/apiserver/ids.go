package apiserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
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

// newTimeID returns an ID that sorts by creation time: 16 hex digits of Unix
// nanoseconds and 4 random hex digits.
func newTimeID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x%s", time.Now().UnixNano(), hex.EncodeToString(b[:]))
}
