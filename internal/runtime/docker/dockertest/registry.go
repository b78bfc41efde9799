package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The registry's in-memory storage and htpasswd authentication.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"

	"github.com/wharfhq/wharf/api"
)

// Registry is a distribution registry (github.com/distribution/distribution)
// run in the test's process on 127.0.0.1 over plain HTTP, which the
// engine accepts for loopback registries. Its storage is in memory.
type Registry struct {
	// Host is "127.0.0.1:port", as image references name it.
	Host string
	// Auth is the one credential it accepts; nil when it needs none.
	Auth *api.RegistryAuth

	delay atomic.Int64 // nanoseconds each manifest request waits
	// Manifests counts the manifest requests (GET and HEAD) it served.
	Manifests atomic.Int64
}

// SetDelay makes every manifest request wait d first: a pull then stays
// in flight long enough for a test to join it.
func (r *Registry) SetDelay(d time.Duration) { r.delay.Store(int64(d)) }

// StartRegistry starts a registry for the test, stopped at its end. With
// a user it accepts only that user with that password (htpasswd, bcrypt).
func StartRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	cfg.HTTP.Secret = "wharf-test-registry-secret"
	r := &Registry{}
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(f, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "wharf-test", "path": f}}
		r.Auth = &api.RegistryAuth{Username: user, Password: password}
	}
	// The registry logs every request through logrus: not into test output.
	logrus.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/manifests/") {
			r.Manifests.Add(1)
			time.Sleep(time.Duration(r.delay.Load()))
		}
		app.ServeHTTP(w, req)
	}))
	t.Cleanup(func() { srv.Close(); cancel() })
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// PushImage tags the local image src as ref and pushes it with the
// registry's credential, then removes the tag ref from the engine (src
// stays), so that running ref needs a pull. It returns the pushed digest.
func (r *Registry) PushImage(t testing.TB, cli *client.Client, src, ref string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: ref}); err != nil {
		t.Fatalf("tag %s as %s: %v", src, ref, err)
	}
	opts := client.ImagePushOptions{RegistryAuth: "e30="} // "{}": the engine wants the header
	if r.Auth != nil {
		opts.RegistryAuth = encodeAuth(*r.Auth, r.Host)
	}
	res, err := cli.ImagePush(ctx, ref, opts)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	digest := ""
	for m, err := range res.JSONMessages(ctx) {
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		if m.Error != nil {
			t.Fatalf("push %s: %s", ref, m.Error.Message)
		}
		if _, d, ok := strings.Cut(m.Status, "digest: "); ok {
			digest, _, _ = strings.Cut(d, " ")
		}
	}
	if digest == "" {
		t.Fatalf("push %s: the engine named no digest", ref)
	}
	RemoveImage(t, cli, ref)
	return digest
}

// RemoveImage removes the tag or digest reference ref from the engine,
// leaving the layers other tags use; a ref not there is fine.
func RemoveImage(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true}); err != nil && !strings.Contains(strings.ToLower(err.Error()), "no such image") {
		t.Fatalf("remove image %s: %v", ref, err)
	}
}

// VariantImage builds, once per call, an image FROM the hello image
// with the label wharf.test.variant=variant, tagged
// "wharf/hello-variant:<variant>": a distinct image (its own digest) that
// runs like the hello image.
func VariantImage(t testing.TB, variant string) string {
	t.Helper()
	base := HelloImage(t)
	cli := Require(t)
	tag := "wharf/hello-variant:" + variant
	df := fmt.Sprintf("FROM %s\nLABEL wharf.test.variant=%q\n", base, variant)
	BuildFiles(t, cli, tag, map[string][]byte{"Dockerfile": []byte(df)})
	return tag
}

// BuildFiles builds, with the classic builder, the image tag from a build
// context of files (name to content; "Dockerfile" among them).
func BuildFiles(t testing.TB, cli *client.Client, tag string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	defer res.Body.Close()
	if err := buildOutput(res.Body); err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
}

// encodeAuth is the engine's X-Registry-Auth header for a credential.
func encodeAuth(a api.RegistryAuth, host string) string {
	b, _ := json.Marshal(map[string]string{"username": a.Username, "password": a.Password, "serveraddress": host})
	return base64.URLEncoding.EncodeToString(b)
}
