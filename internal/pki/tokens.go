package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// Token formats. Secrets are 32 random bytes written in lowercase base32
// without padding (52 characters of a-z and 2-7): easy to copy, no
// characters that shells or URLs treat specially, and never a '-', which
// separates a join token's fields.
const (
	joinTokenPrefix  = "WHARF"
	joinTokenVersion = "1"
	apiTokenPrefix   = "wharf_"
	secretBytes      = 32
)

var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// secretLen is the length of an encoded secret.
var secretLen = secretEncoding.EncodedLen(secretBytes)

// JoinToken lets a host join the cluster, the SwarmKit way. Its text form is
// "WHARF-1-<CADigest>-<Secret>": CADigest (64 lowercase hex) pins the
// cluster CA so that the joining host can trust the server before it has
// the CA certificate; Secret proves the host may join, and only its
// HashSecret is stored on the server.
type JoinToken struct {
	CADigest string
	Secret   string
}

// String is the token's text form.
func (t JoinToken) String() string {
	return joinTokenPrefix + "-" + joinTokenVersion + "-" + t.CADigest + "-" + t.Secret
}

// NewJoinToken makes a join token pinned to ca. It returns the token text,
// to show once, and HashSecret of its secret, to store.
func NewJoinToken(caDigest string) (token string, secretHash string, err error) {
	secret, err := newSecret()
	if err != nil {
		return "", "", fmt.Errorf("pki: new join token: %w", err)
	}
	t := JoinToken{CADigest: caDigest, Secret: secret}
	return t.String(), HashSecret(secret), nil
}

// ParseJoinToken parses a token's text form (surrounding white space is
// ignored; the digest may be upper or lower case and comes back lowercase).
// Its errors name what is wrong without repeating the secret.
func ParseJoinToken(s string) (JoinToken, error) {
	parts := strings.SplitN(strings.TrimSpace(s), "-", 4)
	if parts[0] != joinTokenPrefix {
		return JoinToken{}, fmt.Errorf("pki: join token must start with %q; copy the whole token that `wharf node join-token` printed", joinTokenPrefix+"-")
	}
	if len(parts) < 2 || parts[1] != joinTokenVersion {
		return JoinToken{}, fmt.Errorf("pki: join token has an unsupported version (want %q after %q); use a token made by this version of Wharf", joinTokenVersion, joinTokenPrefix+"-")
	}
	if len(parts) < 3 {
		return JoinToken{}, fmt.Errorf("pki: join token has no CA digest; copy the whole token")
	}
	digest := strings.ToLower(parts[2])
	if len(digest) != 2*sha256.Size {
		return JoinToken{}, fmt.Errorf("pki: join token CA digest has %d characters, want %d hex digits; the token is truncated or mangled", len(digest), 2*sha256.Size)
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return JoinToken{}, fmt.Errorf("pki: join token CA digest is not hexadecimal; the token is mangled")
	}
	if len(parts) < 4 || parts[3] == "" {
		return JoinToken{}, fmt.Errorf("pki: join token has an empty secret; copy the whole token")
	}
	secret := parts[3]
	if err := checkSecret(secret); err != nil {
		return JoinToken{}, fmt.Errorf("pki: join token secret: %w", err)
	}
	return JoinToken{CADigest: digest, Secret: secret}, nil
}

// NewAPIToken makes an API token: "wharf_" followed by a 52-character
// secret. It returns the whole token, to show once, and its HashSecret (of
// the whole token, prefix included), to store.
func NewAPIToken() (secret string, hash string, err error) {
	s, err := newSecret()
	if err != nil {
		return "", "", fmt.Errorf("pki: new API token: %w", err)
	}
	secret = apiTokenPrefix + s
	return secret, HashSecret(secret), nil
}

// HashSecret is the lowercase hex SHA-256 of a secret (a join token's
// Secret, or a whole API token).
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches reports whether HashSecret(secret) equals storedHash, as
// HashSecret wrote it, in constant time.
func SecretMatches(secret, storedHash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(storedHash)) == 1
}

// VerifyCADigest reports whether the first certificate in certPEM has
// SHA-256 digest digest (hex, either case), in constant time. A joining
// host calls it on the CA the server sends before trusting it.
func VerifyCADigest(certPEM []byte, digest string) bool {
	want, err := hex.DecodeString(digest)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	block := firstBlock(certPEM, blockCertificate)
	if block == nil {
		return false
	}
	got := sha256.Sum256(block.Bytes)
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// newSecret returns 32 random bytes in lowercase unpadded base32.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return secretEncoding.EncodeToString(b), nil
}

// checkSecret insists on the secret format newSecret writes.
func checkSecret(s string) error {
	if len(s) != secretLen {
		return fmt.Errorf("has %d characters, want %d; the token is truncated or mangled", len(s), secretLen)
	}
	if _, err := secretEncoding.DecodeString(s); err != nil {
		return fmt.Errorf("is not lowercase base32 (a-z, 2-7); the token is mangled")
	}
	return nil
}
