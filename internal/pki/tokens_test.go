package pki

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

func TestJoinTokenRoundTrip(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	text, hash, err := NewJoinToken(ca.Digest())
	if err != nil {
		t.Fatalf("NewJoinToken: %v", err)
	}
	if !strings.HasPrefix(text, "WHARF-1-"+ca.Digest()+"-") {
		t.Fatalf("token %q does not start with WHARF-1-<CA digest>-", text)
	}
	tok, err := ParseJoinToken("  " + text + "\n")
	if err != nil {
		t.Fatalf("ParseJoinToken: %v", err)
	}
	if tok.CADigest != ca.Digest() || tok.String() != text {
		t.Errorf("round trip: got %+v (%s), want digest %s and text %s", tok, tok, ca.Digest(), text)
	}
	if len(tok.Secret) != 52 {
		t.Errorf("secret has %d characters, want 52", len(tok.Secret))
	}
	if !SecretMatches(tok.Secret, hash) || hash != HashSecret(tok.Secret) {
		t.Error("returned hash does not match the token's secret")
	}
	if SecretMatches(text, hash) {
		t.Error("the hash must be of the secret only, not the whole token")
	}
	upper, err := ParseJoinToken("WHARF-1-" + strings.ToUpper(ca.Digest()) + "-" + tok.Secret)
	if err != nil || upper.CADigest != ca.Digest() {
		t.Errorf("upper-case digest: %+v, %v; want it accepted and lowered", upper, err)
	}
	text2, _, _ := NewJoinToken(ca.Digest())
	if text2 == text {
		t.Error("two join tokens are equal")
	}
}

func TestParseJoinTokenErrors(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	secret := strings.Repeat("a", 52)
	tests := []struct {
		name, token, wantErr string
	}{
		{"empty", "", "must start with"},
		{"wrong prefix", "SWMTKN-1-" + digest + "-" + secret, "must start with"},
		{"lower prefix", "wharf-1-" + digest + "-" + secret, "must start with"},
		{"prefix only", "WHARF", "unsupported version"},
		{"wrong version", "WHARF-2-" + digest + "-" + secret, "unsupported version"},
		{"no digest", "WHARF-1", "no CA digest"},
		{"short digest", "WHARF-1-" + digest[:63] + "-" + secret, "63 characters, want 64"},
		{"long digest", "WHARF-1-" + digest + "0-" + secret, "65 characters, want 64"},
		{"non-hex digest", "WHARF-1-" + strings.Repeat("zz", 32) + "-" + secret, "not hexadecimal"},
		{"missing secret", "WHARF-1-" + digest, "empty secret"},
		{"empty secret", "WHARF-1-" + digest + "-", "empty secret"},
		{"short secret", "WHARF-1-" + digest + "-" + secret[:51], "51 characters, want 52"},
		{"secret with dash", "WHARF-1-" + digest + "-" + secret[:51] + "-", "not lowercase base32"},
		{"upper secret", "WHARF-1-" + digest + "-" + strings.ToUpper(secret), "not lowercase base32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ParseJoinToken(tt.token)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseJoinToken(%q) = %+v, %v; want error containing %q", tt.token, tok, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret[:20]) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestAPIToken(t *testing.T) {
	secret, hash, err := NewAPIToken()
	if err != nil {
		t.Fatalf("NewAPIToken: %v", err)
	}
	if !strings.HasPrefix(secret, "wharf_") || len(secret) != len("wharf_")+52 {
		t.Fatalf("API token %q: want wharf_ and 52 characters", secret)
	}
	if err := checkSecret(strings.TrimPrefix(secret, "wharf_")); err != nil {
		t.Errorf("API token secret: %v", err)
	}
	secret2, hash2, _ := NewAPIToken()
	if secret2 == secret || hash2 == hash {
		t.Error("two API tokens are equal")
	}
	tests := []struct {
		name, secret, hash string
		want               bool
	}{
		{"right", secret, hash, true},
		{"other token", secret2, hash, false},
		{"without prefix", strings.TrimPrefix(secret, "wharf_"), hash, false},
		{"truncated", secret[:len(secret)-1], hash, false},
		{"empty hash", secret, "", false},
		{"upper-case hash", secret, strings.ToUpper(hash), false},
		{"empty secret", "", HashSecret(""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SecretMatches(tt.secret, tt.hash); got != tt.want {
				t.Errorf("SecretMatches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashSecret("abc"); got != want {
		t.Errorf("HashSecret(abc) = %s, want %s", got, want)
	}
}

func TestVerifyCADigest(t *testing.T) {
	ca := mustCA(t, "wharf-ca")
	other := mustCA(t, "other-ca")
	bundle := append(ca.CertPEM(), other.CertPEM()...)
	tests := []struct {
		name   string
		pem    []byte
		digest string
		want   bool
	}{
		{"match", ca.CertPEM(), ca.Digest(), true},
		{"upper-case digest", ca.CertPEM(), strings.ToUpper(ca.Digest()), true},
		{"first of a bundle", bundle, ca.Digest(), true},
		{"second of a bundle", bundle, other.Digest(), false},
		{"other CA", other.CertPEM(), ca.Digest(), false},
		{"short digest", ca.CertPEM(), ca.Digest()[:62], false},
		{"non-hex digest", ca.CertPEM(), strings.Repeat("x", 64), false},
		{"garbage PEM", []byte("garbage"), ca.Digest(), false},
		{"empty", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyCADigest(tt.pem, tt.digest); got != tt.want {
				t.Errorf("VerifyCADigest = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConstantTimeCompare makes sure that the functions comparing secrets
// and digests do so with crypto/subtle and never with == or bytes.Equal.
func TestConstantTimeCompare(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "tokens.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SecretMatches", "VerifyCADigest"} {
		t.Run(name, func(t *testing.T) {
			var fn *ast.FuncDecl
			for _, d := range f.Decls {
				if d, ok := d.(*ast.FuncDecl); ok && d.Name.Name == name {
					fn = d
				}
			}
			if fn == nil {
				t.Fatalf("%s not found in tokens.go", name)
			}
			var subtle bool
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok {
						if x.Name == "subtle" && n.Sel.Name == "ConstantTimeCompare" {
							subtle = true
						}
						if x.Name == "bytes" && n.Sel.Name == "Equal" || x.Name == "strings" && n.Sel.Name == "EqualFold" {
							t.Errorf("%s uses %s.%s", name, x.Name, n.Sel.Name)
						}
					}
				case *ast.BinaryExpr:
					if n.Op == token.EQL || n.Op == token.NEQ {
						if !harmless(n.X) && !harmless(n.Y) {
							t.Errorf("%s compares with %s", name, n.Op)
						}
					}
				}
				return true
			})
			if !subtle {
				t.Errorf("%s does not call subtle.ConstantTimeCompare", name)
			}
		})
	}
}

// harmless reports whether a comparison with e cannot leak a secret's
// content through timing: e is a literal, nil or a length.
func harmless(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return e.Name == "nil"
	case *ast.CallExpr:
		fn, ok := e.Fun.(*ast.Ident)
		return ok && fn.Name == "len"
	}
	return false
}
