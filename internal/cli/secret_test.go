package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
)

func TestParseSecretRef(t *testing.T) {
	for in, want := range map[string]api.SecretRef{
		"db":                            {Source: "db"},
		"db,target=pw":                  {Source: "db", Target: "pw"},
		"source=db,target=pw,mode=0444": {Source: "db", Target: "pw", Mode: 0o444},
		"db,mode=400":                   {Source: "db", Mode: 0o400},
	} {
		got, err := parseSecretRef(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "db,mode=9", "db,uid=0", "target=x"} {
		if _, err := parseSecretRef(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestReadSecretValue(t *testing.T) {
	cmd := &cobra.Command{}
	cmd.SetIn(strings.NewReader("from-stdin\n"))
	for _, f := range []string{"", "-"} {
		b, err := readSecretValue(cmd, f)
		if f == "" && (err != nil || string(b) != "from-stdin\n") {
			t.Fatalf("stdin: %q %v", b, err)
		}
		_ = b
	}
	p := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(p, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readSecretValue(cmd, p); err != nil || string(b) != "from-file" {
		t.Fatalf("file: %q %v", b, err)
	}
	if err := os.WriteFile(p, make([]byte, api.MaxSecretSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readSecretValue(cmd, p); err == nil {
		t.Fatal("an oversized file was read")
	}
	cmd.SetIn(strings.NewReader(""))
	if _, err := readSecretValue(cmd, "-"); err == nil {
		t.Fatal("an empty value was read")
	}
}
