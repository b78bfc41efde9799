package compose

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestSecrets: file and environment sources are read on the client,
// never put in the stack's JSON; deploy names them "<stack>_<name>" and
// an external one by its own name.
func TestSecrets(t *testing.T) {
	st, err := Load(context.Background(), Options{Files: []string{"testdata/secrets/compose.yml"}, Env: map[string]string{"TLS_CERT": "env-value"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	if strings.Contains(string(b), "env-value") || strings.Contains(string(b), "file-value") {
		t.Fatalf("the stack's JSON holds a value: %s", b)
	}
	st.NameSecrets("shop")
	want := map[string]struct {
		wharf, value string
		external     bool
	}{
		"db_password": {"shop_db_password", "file-value\n", false},
		"tls":         {"shop_tls", "env-value", false},
		"api_key":     {"prod_api_key", "", true},
	}
	if len(st.Secrets) != len(want) {
		t.Fatalf("secrets %+v", st.Secrets)
	}
	for _, s := range st.Secrets {
		w := want[s.Name]
		if s.WharfName != w.wharf || s.External != w.external {
			t.Errorf("%s: %+v", s.Name, s)
		}
		v, err := s.Value()
		if w.external != (err != nil) || string(v) != w.value {
			t.Errorf("%s: value %q, %v", s.Name, v, err)
		}
	}
	refs := st.Services[0].Spec.Secrets
	wantRefs := []api.SecretRef{{Source: "shop_db_password", Target: "db_password"}, {Source: "shop_tls", Target: "cert.pem", Mode: 0o444}, {Source: "prod_api_key", Target: "key"}}
	for i := range wantRefs {
		if refs[i] != wantRefs[i] {
			t.Errorf("ref %d: %+v, want %+v", i, refs[i], wantRefs[i])
		}
	}
}

func TestSecretErrors(t *testing.T) {
	dir := t.TempDir()
	for name, yml := range map[string]string{
		"undefined": "services:\n  a:\n    image: x\n    secrets: [nope]\n",
		"abs path":  "services:\n  a:\n    image: x\n    secrets:\n      - source: s\n        target: /etc/s\nsecrets:\n  s:\n    file: ./s\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yml")
		if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(context.Background(), Options{Files: []string{p}, ProjectName: "p"}); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	s := Secret{Name: "e", Environment: "UNSET_VAR_FOR_TEST"}
	if _, err := s.Value(); err == nil {
		t.Error("an unset variable gave a value")
	}
}
