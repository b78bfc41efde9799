package build

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/compose"
)

// tree writes files (path -> content; a path ending in "*" is written
// executable, without the star) under dir.
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		mode := os.FileMode(0o644)
		if name[len(name)-1] == '*' {
			name, mode = name[:len(name)-1], 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

var sample = map[string]string{
	"Dockerfile":     "FROM scratch\nCOPY . /\n",
	"app/main.go":    "package main\n",
	"bin/app*":       "binary",
	"docs/README.md": "readme",
	"tmp/cache.bin":  "scratch",
	".dockerignore":  "# comment\ntmp\n*.log\ndocs/*.md\n!docs/KEEP.md\nDockerfile\n",
}

func hashOf(t *testing.T, b *compose.Build) string {
	t.Helper()
	c, err := hashContext(b)
	if err != nil {
		t.Fatal(err)
	}
	return c.hash
}

func TestHashStable(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	tree(t, a, sample)
	tree(t, b, sample)
	// Other times: the hash is of contents, not of when they were written.
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(b, "app/main.go"), old, old); err != nil {
		t.Fatal(err)
	}
	ha := hashOf(t, &compose.Build{Context: a, Dockerfile: "Dockerfile"})
	if hb := hashOf(t, &compose.Build{Context: b, Dockerfile: "Dockerfile"}); ha != hb {
		t.Errorf("same files, two hashes: %s, %s", ha, hb)
	}
	if again := hashOf(t, &compose.Build{Context: a, Dockerfile: "Dockerfile"}); again != ha {
		t.Errorf("hash changed with nothing changed")
	}
	// The image's image: key does not change what is built.
	if hi := hashOf(t, &compose.Build{Context: a, Dockerfile: "Dockerfile", Image: "x"}); hi != ha {
		t.Errorf("image: changed the hash")
	}
}

func TestHashChanges(t *testing.T) {
	base := func(t *testing.T) (string, *compose.Build) {
		dir := t.TempDir()
		tree(t, dir, sample)
		tree(t, dir, map[string]string{"Dockerfile.prod": "FROM scratch\n"})
		return dir, &compose.Build{Context: dir, Dockerfile: "Dockerfile", Args: map[string]string{"A": "1"}}
	}
	dir, b := base(t)
	want := hashOf(t, b)
	for name, change := range map[string]func(dir string, b *compose.Build){
		"file content": func(dir string, _ *compose.Build) {
			tree(t, dir, map[string]string{"app/main.go": "package main // v2\n"})
		},
		"new file":     func(dir string, _ *compose.Build) { tree(t, dir, map[string]string{"app/new.go": ""}) },
		"removed file": func(dir string, _ *compose.Build) { os.Remove(filepath.Join(dir, "app/main.go")) },
		"mode":         func(dir string, _ *compose.Build) { os.Chmod(filepath.Join(dir, "bin/app"), 0o644) },
		"renamed file": func(dir string, _ *compose.Build) {
			os.Rename(filepath.Join(dir, "bin/app"), filepath.Join(dir, "bin/app2"))
		},
		"dockerfile":    func(dir string, _ *compose.Build) { tree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"}) },
		"dockerfile to": func(_ string, b *compose.Build) { b.Dockerfile = "Dockerfile.prod" },
		"arg value":     func(_ string, b *compose.Build) { b.Args["A"] = "2" },
		"new arg":       func(_ string, b *compose.Build) { b.Args["B"] = "" },
		"target":        func(_ string, b *compose.Build) { b.Target = "final" },
		"kept by !":     func(dir string, _ *compose.Build) { tree(t, dir, map[string]string{"docs/KEEP.md": "kept"}) },
		".dockerignore": func(dir string, _ *compose.Build) { tree(t, dir, map[string]string{".dockerignore": "tmp\n"}) },
		"symlink":       func(dir string, _ *compose.Build) { os.Symlink("app/main.go", filepath.Join(dir, "link")) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, b := base(t)
			if got := hashOf(t, b); got != want {
				t.Fatalf("the base hashes differently in another dir")
			}
			change(dir, b)
			if got := hashOf(t, b); got == want {
				t.Errorf("%s: the hash did not change", name)
			}
		})
	}
	// What .dockerignore excludes changes nothing.
	for _, ignored := range []map[string]string{
		{"tmp/cache.bin": "other"}, {"tmp/new/deep": "x"}, {"x.log": "log"}, {"docs/README.md": "other"}, {"docs/OTHER.md": "x"},
	} {
		tree(t, dir, ignored)
		if got := hashOf(t, b); got != want {
			t.Errorf("a change to %v, which .dockerignore excludes, changed the hash", ignored)
		}
	}
}

func TestContextTar(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, sample)
	outside := t.TempDir()
	tree(t, outside, map[string]string{"Dockerfile.out": "FROM scratch\n"})
	c, err := hashContext(&compose.Build{Context: dir, Dockerfile: filepath.Join(outside, "Dockerfile.out")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", h.Name, h.Uid, h.Gid)
		}
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
	}
	sort.Strings(names)
	// tmp/, *.log, docs/README.md and Dockerfile (not the one used) are
	// not sent; the Dockerfile from outside the context is sent under a
	// name of its own.
	want := []string{".dockerignore", ".wharf.Dockerfile", "app/", "app/main.go", "bin/", "bin/app", "docs/"}
	if !equal(names, want) {
		t.Errorf("tar holds %q, want %q", names, want)
	}
	if c.dockerfile != outsideDockerfile || modes["bin/app"]&0o111 == 0 {
		t.Errorf("dockerfile %q, bin/app mode %o", c.dockerfile, modes["bin/app"])
	}

	// The Dockerfile used is kept though .dockerignore lists it, as
	// Docker keeps it.
	in, err := hashContext(&compose.Build{Context: dir, Dockerfile: "Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	if in.entries[1].Path != "Dockerfile" || in.dockerfile != "Dockerfile" {
		t.Errorf("the Dockerfile listed in .dockerignore is not sent: %+v", in.entries)
	}

	// A Dockerfile in a directory .dockerignore excludes is sent, and
	// nothing else of it; a context named through a symlink is walked.
	tree(t, dir, map[string]string{"tmp/Dockerfile.tmp": "FROM scratch\n"})
	link := filepath.Join(t.TempDir(), "ctx")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	ex, err := hashContext(&compose.Build{Context: link, Dockerfile: "tmp/Dockerfile.tmp"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range ex.entries {
		paths = append(paths, e.Path)
	}
	if want := []string{".dockerignore", "app", "app/main.go", "bin", "bin/app", "docs", "tmp/Dockerfile.tmp"}; !equal(paths, want) || ex.dockerfile != "tmp/Dockerfile.tmp" {
		t.Errorf("context %q, dockerfile %q; want %q", paths, ex.dockerfile, want)
	}

	// A file changed after it was hashed is not sent as if it had not.
	tree(t, dir, map[string]string{"app/main.go": "package main // changed\n"})
	if err := c.writeTar(io.Discard); err == nil {
		t.Error("a file changed since the hash was sent")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
