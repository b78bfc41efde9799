package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// caseOptions is testdata/<case>/options.json: what Options the case loads
// with. Without it, the case loads compose.yml alone.
type caseOptions struct {
	Files    []string          `json:"files"`
	Env      map[string]string `json:"env"`
	Profiles []string          `json:"profiles"`
	Strict   bool              `json:"strict"`
	Project  string            `json:"project"`
}

// golden is what want.json holds: the project's name and the stack spec
// `wharf stack deploy` would send.
type golden struct {
	Name string        `json:"name"`
	Spec api.StackSpec `json:"spec"`
}

// TestGolden loads every case of testdata and compares the stack with
// want.json, or the error with want.err.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if filepath.Base(dir) == "fuzz" {
			continue // the fuzzer's corpus, not a case
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			co := caseOptions{Files: []string{"compose.yml"}}
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				if err := json.Unmarshal(b, &co); err != nil {
					t.Fatal(err)
				}
			}
			files := make([]string, len(co.Files))
			for i, f := range co.Files {
				files[i] = filepath.Join(dir, f)
			}
			st, err := Load(context.Background(), Options{
				Files: files, Env: co.Env, Profiles: co.Profiles, Strict: co.Strict, ProjectName: co.Project,
			})
			var got []byte
			name := "want.json"
			if err != nil {
				name = "want.err"
				got = []byte(err.Error() + "\n")
			} else if got, err = json.MarshalIndent(golden{st.Name, st.StackSpec()}, "", "  "); err != nil {
				t.Fatal(err)
			} else {
				// Bind sources are absolute: show them from the case's dir.
				abs, err := filepath.Abs(dir)
				if err != nil {
					t.Fatal(err)
				}
				got = append(bytes.ReplaceAll(got, []byte(abs+"/"), []byte("<case>/")), '\n')
			}
			wantFile := filepath.Join(dir, name)
			if *update {
				for _, old := range []string{"want.json", "want.err"} {
					os.Remove(filepath.Join(dir, old))
				}
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("got %s\n%s", name, got)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", wantFile, got, want)
			}
		})
	}
}

func TestWarningString(t *testing.T) {
	w := Warning{File: "compose.yml", Line: 12, Key: "services.web.cap_add", Message: msgUnsupported}
	if got, want := w.String(), "compose.yml:12: services.web.cap_add is not supported by Wharf; ignored"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConstraint(t *testing.T) {
	for in, want := range map[string]string{
		"node.labels.zone == external": "node.labels.zone==external",
		"node.labels.disk!=hdd":        "node.labels.disk!=hdd",
		"node.hostname==n1":            "node.name==n1",
		"node.platform.os == linux":    "node.os==linux",
		"node.platform.arch != arm64":  "node.arch!=arm64",
		"node.id==abc":                 "node.id==abc",
		"node.role == manager":         "",
		"engine.labels.x == y":         "",
		"zone":                         "",
		"a == b == c":                  "",
	} {
		got, msg := constraint(in)
		if got != want || (want == "") != (msg != "") {
			t.Errorf("constraint(%q) = %q, %q; want %q", in, got, msg, want)
		}
	}
}

// TestProcessEnv checks that the process environment wins over .env and
// loses to Options.Env.
func TestProcessEnv(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yml", "services:\n  a:\n    image: ${WHARF_T_IMG}:${WHARF_T_TAG}\n")
	write(t, dir, ".env", "WHARF_T_IMG=fromdotenv\nWHARF_T_TAG=fromdotenv\n")
	t.Setenv("WHARF_T_IMG", "fromprocess")
	t.Setenv("WHARF_T_TAG", "fromprocess")
	st, err := Load(context.Background(), Options{WorkingDir: dir, Env: map[string]string{"WHARF_T_TAG": "fromoptions"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Services[0].Spec.Image; got != "fromprocess:fromoptions" {
		t.Errorf("image %q", got)
	}
}

func TestNoFile(t *testing.T) {
	_, err := Load(context.Background(), Options{WorkingDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no compose file") {
		t.Errorf("got %v", err)
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzLoad feeds random bytes as a compose file: Load must never panic.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "compose.yml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := Load(context.Background(), Options{Files: []string{path}, ProjectName: "fuzz"})
		if err == nil && st == nil {
			t.Fatal("nil stack without an error")
		}
	})
}

// TestEnvFileAndName checks that --env-file replaces .env and that Named
// tells whether a file gives the project's name.
func TestEnvFileAndName(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yml", "services:\n  a:\n    image: ${WHARF_T_ENVFILE}\n")
	write(t, dir, ".env", "WHARF_T_ENVFILE=fromdotenv\n")
	write(t, dir, "other.env", "WHARF_T_ENVFILE=fromenvfile\n")
	st, err := Load(context.Background(), Options{WorkingDir: dir, EnvFiles: []string{filepath.Join(dir, "other.env")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Services[0].Spec.Image; got != "fromenvfile" || st.Named {
		t.Errorf("image %q, named %v; want fromenvfile, false", got, st.Named)
	}
	write(t, dir, "compose.yml", "name: shop\nservices:\n  a:\n    image: x\n")
	if st, err = Load(context.Background(), Options{WorkingDir: dir}); err != nil || !st.Named || st.Name != "shop" {
		t.Errorf("named file: %+v, %v", st, err)
	}
	if _, err := Load(context.Background(), Options{WorkingDir: dir, EnvFiles: []string{filepath.Join(dir, "nope.env")}}); err == nil || !strings.Contains(err.Error(), "nope.env") {
		t.Errorf("missing env file: %v", err)
	}
}
