package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// FuzzACMEKey: a key the gateway accepts for the ACME cache is short, of
// the allowed characters, and reads as no path; a key it refuses gets a
// FieldError on "key".
func FuzzACMEKey(f *testing.F) {
	for _, seed := range []string{
		"acme_account+key", "3f2a9c1b7e4d_web.example.com", "3f2a9c1b7e4d_web.example.com+rsa",
		"3f2a9c1b7e4d_web.example.com+token", "3f2a9c1b7e4d_Zm9vYmFy-_x+http-01",
		"", ".", "..", "../x", "a/b", "a..b", ".a", "a\x00", "é", strings.Repeat("a", 400),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := validateACMEKey(key)
		if err != nil {
			var fe *errdefs.FieldError
			if !errors.As(err, &fe) || fe.Field != "key" {
				t.Fatalf("validateACMEKey(%q): %v, want a FieldError on key", key, err)
			}
			return
		}
		if key == "" || len(key) > 320 || strings.HasPrefix(key, ".") || strings.Contains(key, "..") ||
			strings.ContainsAny(key, "/\\:*?\"<>| \t\r\n\x00") {
			t.Fatalf("validateACMEKey accepted %q", key)
		}
		for _, r := range key {
			if r > 0x7e {
				t.Fatalf("validateACMEKey accepted a non-ASCII key %q", key)
			}
		}
	})
}
