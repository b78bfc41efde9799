package pki

import (
	"strings"
	"testing"
)

func FuzzParseJoinToken(f *testing.F) {
	f.Add("WHARF-1-" + strings.Repeat("ab", 32) + "-" + strings.Repeat("a", 52))
	f.Add("WHARF-1-" + strings.Repeat("AB", 32) + "-" + strings.Repeat("7", 52) + "\n")
	f.Add("WHARF-1--")
	f.Add("WHARF")
	f.Add("")
	f.Add("-")
	f.Add("WHARF-1-\xff-\x00")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseJoinToken(s)
		if err != nil {
			return
		}
		// Whatever parses must print to a token that parses back the same.
		again, err := ParseJoinToken(tok.String())
		if err != nil {
			t.Fatalf("ParseJoinToken(%q) = %+v, but its String %q does not parse: %v", s, tok, tok, err)
		}
		if again != tok {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, tok)
		}
		if len(tok.CADigest) != 64 || strings.ToLower(tok.CADigest) != tok.CADigest {
			t.Fatalf("accepted digest %q is not 64 lowercase hex", tok.CADigest)
		}
	})
}
