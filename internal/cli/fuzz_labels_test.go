package cli

import (
	"strings"
	"testing"
)

// FuzzParseLabels feeds `--label k=v` (and `--env`) arguments to
// parseLabels: it never panics, an error quotes the argument at fault, and
// what it accepts prints back to arguments that parse to the same map.
func FuzzParseLabels(f *testing.F) {
	for _, seed := range []string{"zone=a", "ssd=", "x=y=z", "region=eu-west-1", "disk=ssd\nzone=b", "=v", "k", "", "é=ü", "a=b\x00c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\n")
		m, err := parseLabels(args)
		if err != nil {
			if !strings.Contains(err.Error(), "label ") || !strings.Contains(err.Error(), "key=value") {
				t.Fatalf("parseLabels(%q): error %q does not say which label and what to write", args, err)
			}
			return
		}
		var again []string
		for k, v := range m {
			if k == "" || strings.Contains(k, "=") {
				t.Fatalf("parseLabels(%q) accepted key %q", args, k)
			}
			again = append(again, k+"="+v)
		}
		m2, err := parseLabels(again)
		if err != nil {
			t.Fatalf("parseLabels(%q) (printed back from %q): %v", again, args, err)
		}
		if len(m2) != len(m) {
			t.Fatalf("round trip of %q: %v, then %v", args, m, m2)
		}
		for k, v := range m {
			if m2[k] != v {
				t.Fatalf("round trip of %q: %s=%q became %q", args, k, v, m2[k])
			}
		}
	})
}
