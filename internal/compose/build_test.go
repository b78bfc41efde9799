package compose

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles writes files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildParsed(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yml": `name: shop
services:
  web:
    build: ./web
  worker:
    image: 127.0.0.1:5000/acme/worker:v2
    build:
      context: worker
      dockerfile: build/Dockerfile.prod
      target: final
      args:
        MODE: fast
        FROM_ENV:
        UNSET:
    environment: {A: b}
  db:
    image: postgres
`,
		"web/Dockerfile":                  "FROM scratch\n",
		"worker/build/Dockerfile.prod":    "FROM scratch\n",
		"worker/cmd/main.go":              "package main\n",
		"elsewhere/not-the-context.txt":   "x",
		"worker/.dockerignore":            "*.md\n",
		"web/static/index.html":           "<p>hi</p>",
		"worker/build/unused/placeholder": "",
	})
	st, err := Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yml")}, Env: map[string]string{"FROM_ENV": "from-env"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Build{}
	for _, s := range st.Services {
		got[s.Name] = s.Build
	}
	if got["db"] != nil {
		t.Errorf("db has a build: %+v", got["db"])
	}
	if want := (&Build{Context: filepath.Join(dir, "web"), Dockerfile: "Dockerfile"}); !reflect.DeepEqual(got["web"], want) {
		t.Errorf("web: %+v, want %+v", got["web"], want)
	}
	want := &Build{Context: filepath.Join(dir, "worker"), Dockerfile: "build/Dockerfile.prod", Target: "final",
		Args: map[string]string{"MODE": "fast", "FROM_ENV": "from-env"}, Image: "127.0.0.1:5000/acme/worker:v2"}
	if !reflect.DeepEqual(got["worker"], want) {
		t.Errorf("worker: %+v, want %+v", got["worker"], want)
	}
	// The spec sent to the server has no build: the CLI sets the image.
	for _, s := range st.StackSpec().Services {
		if s.Name == "web" && s.Spec.Image != "" {
			t.Errorf("web's image before the build: %q", s.Spec.Image)
		}
	}
}

func TestBuildRefused(t *testing.T) {
	for _, c := range []struct{ name, svc, want string }{
		{"ssh", "build:\n      context: .\n      ssh: [default]\n", "compose.yml:7: services.a.build.ssh: is not supported by Wharf's build (it supports context, dockerfile, args and target)"},
		{"secrets", "build:\n      context: .\n      secrets: [s]\n", "compose.yml:7: services.a.build.secrets: is not supported"},
		{"additional_contexts", "build:\n      context: .\n      additional_contexts:\n        x: ./other\n", "compose.yml:7: services.a.build.additional_contexts: is not supported"},
		{"inline", "build:\n      context: .\n      dockerfile_inline: FROM scratch\n", "compose.yml:7: services.a.build.dockerfile_inline: is not supported"},
		{"remote", "build: https://github.com/docker/example.git\n", `compose.yml:5: services.a.build.context: "https://github.com/docker/example.git" is not a local directory`},
		{"nodir", "build: ./missing\n", "compose.yml:5: services.a.build.context: missing is not a directory"},
		{"nodockerfile", "build:\n      context: .\n      dockerfile: Nope\n", "compose.yml:7: services.a.build.dockerfile: no Dockerfile at Nope"},
		{"exec", "build: .\n    command: [x]\n    x-wharf: {driver: exec}\n", "compose.yml:5: services.a.build: builds an image, which only the docker driver runs, not x-wharf driver exec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"compose.yml": "secrets:\n  s: {environment: HOME}\nservices:\n  a:\n    " + c.svc,
				"Dockerfile":  "FROM scratch\n",
			})
			_, err := Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yml")}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestBuildIgnoredKeysWarn(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yml": "services:\n  a:\n    build:\n      context: .\n      labels: {x: y}\n      no_cache: true\n",
		"Dockerfile":  "FROM scratch\n",
	})
	st, err := Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range st.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		"compose.yml:5: services.a.build.labels is not supported by Wharf; ignored",
		"compose.yml:6: services.a.build.no_cache is not supported by Wharf; ignored",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
}
