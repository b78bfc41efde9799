package build

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/build/buildtest"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestPushedImagePulls checks that what Images pushes (exported from the
// engine, pushed by go-containerregistry) is what an engine pulls back by
// the digest the service runs: the same image, config included.
func TestPushedImagePulls(t *testing.T) {
	engine := dockertest.Require(t)
	f := buildtest.NewFakeRegistry(t, token)
	dir := t.TempDir()
	tree(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\nENTRYPOINT [\"/nothing\"]\nLABEL test=pull\n", "hello.txt": "pull me\n"})
	ctx := context.Background()
	var out bytes.Buffer
	st := webStack(dir)
	steps, err := Images(ctx, st, Options{Stack: "shop", Registry: registryOf(f), Out: &out,
		Engine: func(context.Context) (*client.Client, error) { return dockertest.Require(t), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.Services[1].Spec.Image // repository:tag@sha256:...
	built, err := engine.ImageInspect(ctx, steps[0].Ref)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the local image, then pull it back by the name the service
	// runs (repository:tag@digest), as a node does.
	if _, err := engine.ImageRemove(ctx, steps[0].Ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatal(err)
	}
	auth, _ := json.Marshal(map[string]string{"username": "alice", "password": token})
	repoAtDigest := steps[0].tag.Context().String() + "@" + steps[0].Digest
	if !strings.HasSuffix(ref, "@"+steps[0].Digest) {
		t.Fatalf("the service runs %q", ref)
	}
	pull, err := engine.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: base64.URLEncoding.EncodeToString(auth)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pull.Wait(ctx); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	t.Cleanup(func() {
		_, _ = engine.ImageRemove(context.Background(), repoAtDigest, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	pulled, err := engine.ImageInspect(ctx, repoAtDigest)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ID != built.ID || !slices.Contains(pulled.RepoDigests, repoAtDigest) {
		t.Errorf("pulled %s %q, built %s", pulled.ID, pulled.RepoDigests, built.ID)
	}
	// The engine finds it by the name the service runs, tag and digest.
	if byRef, err := engine.ImageInspect(ctx, ref); err != nil || byRef.ID != built.ID {
		t.Errorf("the engine does not find %s: %v", ref, err)
	}
}
