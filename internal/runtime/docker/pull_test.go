package docker

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// pushed pushes a distinct image (of variant) to reg as repo:tag, gone
// from the engine afterwards, and returns its reference and digest.
func pushed(t *testing.T, reg *dockertest.Registry, variant, repo string) (string, string) {
	t.Helper()
	cli := dockertest.Require(t)
	ref := reg.Host + "/" + repo
	digest := reg.PushImage(t, cli, dockertest.VariantImage(t, variant), ref)
	t.Cleanup(func() { dockertest.RemoveImage(t, cli, ref) })
	return ref, digest
}

func ctxPull(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestPullWithCredentialAndProgress(t *testing.T) {
	reg := dockertest.StartRegistry(t, "alice", "s3cret-pull-pw")
	ref, _ := pushed(t, reg, "cred", "wharf/cred:v1")
	d := newDriver(t, "pull-"+t.Name())

	// Without the credential the registry refuses: a clear error.
	s := spec(ref, "pullcred0")
	_, err := d.Start(ctxPull(t), s)
	if err == nil || !strings.Contains(err.Error(), "registry "+reg.Host+" wants a credential") || !strings.Contains(err.Error(), ref) {
		t.Fatalf("Start without a credential: %v, want the registry wants a credential, naming image and registry", err)
	}

	var mu sync.Mutex
	var seen []int
	s = spec(ref, "pullcred1")
	s.RegistryAuth = reg.Auth
	s.PullProgress = func(p int) { mu.Lock(); seen = append(seen, p); mu.Unlock() }
	st, err := d.Start(ctxPull(t), s)
	if err != nil {
		t.Fatalf("Start pulling with the credential: %v", err)
	}
	if st.State != runtime.StateRunning {
		t.Fatalf("state %s, want running", st.State)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[len(seen)-1] != 100 {
		t.Errorf("progress seen %v, want it to end at 100", seen)
	}
	// The credential is in no label (nor the spec hash's input).
	c, err := d.find(ctxPull(t), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Config.Labels {
		if strings.Contains(v, reg.Auth.Password) {
			t.Errorf("label %s carries the password", k)
		}
	}
}

func TestPullSharedByStarts(t *testing.T) {
	reg := dockertest.StartRegistry(t, "", "")
	ref, _ := pushed(t, reg, "shared", "wharf/shared:v1")
	reg.SetDelay(time.Second) // the pull stays in flight while both wait
	d := newDriver(t, "pull-"+t.Name())
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, id := range []string{"shared1", "shared2", "shared3"} {
		wg.Go(func() {
			s := spec(ref, id)
			s.Name = "web-" + id
			if _, err := d.Start(ctxPull(t), s); err != nil {
				t.Errorf("Start %s: %v", id, err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	d.mu.Lock()
	n := d.pullCount
	d.mu.Unlock()
	if n != 1 {
		t.Errorf("pulls begun: %d, want 1 shared by the three starts", n)
	}
}

func TestPullFailuresAreClear(t *testing.T) {
	reg := dockertest.StartRegistry(t, "bob", "right-password")
	ref, _ := pushed(t, reg, "fail", "wharf/fail:v1")
	d := newDriver(t, "pull-"+t.Name())
	cases := []struct {
		name, image string
		auth        *api.RegistryAuth
		policy      string
		want        []string
	}{
		{"wrong password", ref, &api.RegistryAuth{Username: "bob", Password: "wrong"}, "",
			[]string{"registry " + reg.Host + " refused the organization's credential", ref, "wharf registry login"}},
		{"node credential", ref, &api.RegistryAuth{Username: api.NodeRegistryUserPrefix + "n1", Password: "v1.1.x"}, "",
			[]string{"the built-in registry " + reg.Host + " refused this node's pull credential", ref, "its own organization's images"}},
		{"missing tag", reg.Host + "/wharf/fail:nope", reg.Auth, "",
			[]string{"registry " + reg.Host + " has no such image or tag", reg.Host + "/wharf/fail:nope"}},
		{"unreachable", "127.0.0.1:1/wharf/x:v1", nil, api.PullAlways,
			[]string{"registry 127.0.0.1:1 does not answer", "127.0.0.1:1/wharf/x:v1"}},
		{"never", ref, reg.Auth, api.PullNever,
			[]string{"image " + ref + " is not on this node and its pull policy is never", "docker load"}},
		{"unknown policy", ref, nil, "sometimes", []string{`unknown pull policy "sometimes"`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := spec(c.image, "fail"+string(rune('a'+i)))
			s.RegistryAuth, s.PullPolicy = c.auth, c.policy
			began := time.Now()
			_, err := d.Start(ctxPull(t), s)
			if err == nil {
				t.Fatal("Start succeeded, want a clear error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if c.auth != nil && strings.Contains(err.Error(), c.auth.Password) {
				t.Errorf("error %q carries the password", err)
			}
			if took := time.Since(began); took > 20*time.Second {
				t.Errorf("took %v: a failed pull must fail, not retry", took)
			}
			if _, err := d.Inspect(ctxPull(t), s.ID); err == nil {
				t.Errorf("a container is left after the failed start")
			}
		})
	}
}

func TestPullAlwaysAndDigest(t *testing.T) {
	reg := dockertest.StartRegistry(t, "", "")
	ref, digest := pushed(t, reg, "always1", "wharf/always:v1")
	d := newDriver(t, "pull-"+t.Name())
	// A pinned reference (tag and digest), as the server sends it, runs.
	pinned := ref + "@" + digest
	s := spec(pinned, "always1")
	if _, err := d.Start(ctxPull(t), s); err != nil {
		t.Fatalf("Start of %s: %v", pinned, err)
	}
	// Pull policy always: every start asks the registry about the tag.
	s = spec(ref, "always2")
	s.Name = "web-2"
	s.PullPolicy = api.PullAlways
	if _, err := d.Start(ctxPull(t), s); err != nil {
		t.Fatalf("Start of %s: %v", ref, err)
	}
	before := reg.Manifests.Load()
	if err := d.Stop(ctxPull(t), s.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Start(ctxPull(t), s); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if reg.Manifests.Load() == before {
		t.Errorf("pull policy always: the second start asked the registry nothing")
	}
	// Policy missing (the default) with the image on the node: no pull.
	s = spec(ref, "always3")
	s.Name = "web-3"
	before = reg.Manifests.Load()
	if _, err := d.Start(ctxPull(t), s); err != nil {
		t.Fatal(err)
	}
	if reg.Manifests.Load() != before {
		t.Errorf("pull policy missing pulled an image the node has")
	}
}
