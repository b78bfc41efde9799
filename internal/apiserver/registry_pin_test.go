package apiserver

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/imageresolve"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// withResolver makes the domain layer pin images through their registries.
func withResolver(s *Server) { s.cfg.Resolver = &imageresolve.Resolver{} }

// pushRandom writes a new random image to ref (no Docker Engine needed)
// and returns its digest.
func pushRandom(t *testing.T, ref string, auth *api.RegistryAuth) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: auth.Username, Password: auth.Password})); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestImagePinning: a service's image is resolved to its digest at
// create with the organization's credential; a tag moved later does not
// change it, a redeploy resolves it anew; an unreachable registry, a
// wrong password and a missing tag are each a clear 400 that changes
// nothing; pull policy never resolves nothing.
func TestImagePinning(t *testing.T) {
	const password = "reg-CANARY-pw-5b1e"
	reg := dockertest.StartRegistry(t, "ci", password)
	e := newEnv(t, withSecrets(t), withResolver)
	image := reg.Host + "/app/web:1"
	first := pushRandom(t, image, reg.Auth)

	// Without a credential: refused, and nothing is made.
	code, b := e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"image":"`+image+`","replicas":1}}`)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "registry "+reg.Host+" wants a credential") || !strings.Contains(string(b), image) {
		t.Fatalf("create without a credential: %d %s", code, b)
	}
	if code, _ := e.do("GET", "/v1/services/web", e.admin, ""); code != http.StatusNotFound {
		t.Fatalf("a refused create left a service: %d", code)
	}
	// A wrong password: refused, naming the registry.
	e.call("PUT", "/v1/registry/logins/"+reg.Host, `{"username":"ci","password":"wrong"}`, http.StatusOK, nil)
	code, b = e.do("POST", "/v1/services", e.admin, `{"name":"web","spec":{"image":"`+image+`","replicas":1}}`)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "refused the organization's credential") || !strings.Contains(string(b), "--pull never") {
		t.Fatalf("create with a wrong password: %d %s", code, b)
	}

	var login api.RegistryLogin
	e.call("PUT", "/v1/registry/logins/"+reg.Host, `{"username":"ci","password":"`+password+`"}`, http.StatusOK, &login)
	if login.Host != reg.Host || login.Username != "ci" {
		t.Errorf("login answered %+v", login)
	}
	var svc api.Service
	e.call("POST", "/v1/services", `{"name":"web","spec":{"image":"`+image+`","replicas":1}}`, http.StatusCreated, &svc)
	if svc.ResolvedImage != image+"@"+first || svc.RunImage() != svc.ResolvedImage {
		t.Fatalf("resolved image %q, want %q", svc.ResolvedImage, image+"@"+first)
	}

	// The tag moves: the service keeps its digest until a redeploy.
	second := pushRandom(t, image, reg.Auth)
	e.call("PATCH", "/v1/services/web", `{"spec":{"replicas":2}}`, http.StatusOK, &svc)
	if svc.ResolvedImage != image+"@"+first {
		t.Errorf("after a scale-like update: %q, want the first digest kept", svc.ResolvedImage)
	}
	e.call("POST", "/v1/services/web/redeploy", ``, http.StatusAccepted, &svc)
	if svc.ResolvedImage != image+"@"+second {
		t.Errorf("after redeploy: %q, want the moved tag's %s", svc.ResolvedImage, second)
	}

	// A missing tag and an unreachable registry: 400, nothing changed.
	for _, bad := range []struct{ image, want string }{
		{reg.Host + "/app/web:nope", "has no such image or tag"},
		{"127.0.0.1:1/app/web:1", "registry does not answer at 127.0.0.1:1"},
	} {
		code, b := e.do("PATCH", "/v1/services/web", e.admin, `{"spec":{"image":"`+bad.image+`"}}`)
		if code != http.StatusBadRequest || !strings.Contains(string(b), bad.want) || !strings.Contains(string(b), bad.image) {
			t.Errorf("update to %s: %d %s, want 400 with %q", bad.image, code, b, bad.want)
		}
	}
	var now api.Service
	e.call("GET", "/v1/services/web", ``, http.StatusOK, &now)
	if now.Spec.Image != image || now.ResolvedImage != image+"@"+second || now.Revision != svc.Revision {
		t.Errorf("after refused updates: %+v", now)
	}

	// A new image through an update: resolved, the old pin kept for a
	// rollback.
	other := reg.Host + "/app/web:2"
	third := pushRandom(t, other, reg.Auth)
	e.call("PATCH", "/v1/services/web", `{"spec":{"image":"`+other+`"}}`, http.StatusOK, &svc)
	if svc.ResolvedImage != other+"@"+third || svc.PreviousResolvedImage != image+"@"+second {
		t.Errorf("after an image update: resolved %q previous %q", svc.ResolvedImage, svc.PreviousResolvedImage)
	}

	// Pull policy never: not resolved, even from nowhere.
	var local api.Service
	e.call("POST", "/v1/services", `{"name":"local","spec":{"image":"127.0.0.1:1/only/loaded:1","pull_policy":"never","replicas":1}}`, http.StatusCreated, &local)
	if local.ResolvedImage != "" || local.RunImage() != "127.0.0.1:1/only/loaded:1" {
		t.Errorf("pull policy never: resolved %q", local.ResolvedImage)
	}
	code, b = e.do("POST", "/v1/services", e.admin, `{"name":"bad","spec":{"image":"x","pull_policy":"sometimes","replicas":1}}`)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "pull_policy") {
		t.Errorf("an unknown pull policy: %d %s", code, b)
	}

	// A stack: a missing tag refuses the whole deploy, nothing made; a
	// good one is pinned, and a stack redeploy resolves anew.
	code, b = e.do("PUT", "/v1/stacks/shop", e.admin, `{"spec":{"services":[{"name":"ok","spec":{"image":"`+other+`","replicas":1}},{"name":"bad","spec":{"image":"`+reg.Host+`/app/none:1","replicas":1}}]}}`)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "has no such image or tag") {
		t.Errorf("stack deploy with a missing tag: %d %s", code, b)
	}
	if code, _ := e.do("GET", "/v1/stacks/shop", e.admin, ""); code != http.StatusNotFound {
		t.Errorf("the refused deploy made the stack: %d", code)
	}
	e.call("PUT", "/v1/stacks/shop", `{"spec":{"services":[{"name":"ok","spec":{"image":"`+other+`","replicas":1}}]}}`, http.StatusCreated, nil)
	var ok api.Service
	e.call("GET", "/v1/services/shop-ok", ``, http.StatusOK, &ok)
	if ok.ResolvedImage != other+"@"+third {
		t.Errorf("stack service pinned to %q", ok.ResolvedImage)
	}
	fourth := pushRandom(t, other, reg.Auth)
	e.call("POST", "/v1/stacks/shop/redeploy", ``, http.StatusAccepted, nil)
	e.call("GET", "/v1/services/shop-ok", ``, http.StatusOK, &ok)
	if ok.ResolvedImage != other+"@"+fourth {
		t.Errorf("after stack redeploy: %q, want %s", ok.ResolvedImage, fourth)
	}

	// The password is nowhere: not in the store's values, not in any answer.
	var logins []api.RegistryLogin
	e.call("GET", "/v1/registry/logins", ``, http.StatusOK, &logins)
	if len(logins) != 1 || logins[0].Host != reg.Host {
		t.Errorf("logins: %+v", logins)
	}
	for _, p := range []string{"/v1/registry/logins", "/v1/events?since=0", "/v1/actions", "/v1/services/web"} {
		if _, b := e.do("GET", p, e.admin, ""); strings.Contains(string(b), password) {
			t.Errorf("GET %s shows the password: %s", p, b)
		}
	}
	res, err := testEtcd.Client.Get(context.Background(), "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range res.Kvs {
		if strings.Contains(string(kv.Value), password) {
			t.Errorf("store key %s holds the password in clear", kv.Key)
		}
	}
	// Logout removes it; a second logout is a 404.
	e.call("DELETE", "/v1/registry/logins/"+reg.Host, ``, http.StatusNoContent, nil)
	if code, b := e.do("DELETE", "/v1/registry/logins/"+reg.Host, e.admin, ""); code != http.StatusNotFound {
		t.Errorf("second logout: %d %s", code, b)
	}
}

// TestRegistryLoginNeedsAdmin: a deploy token may list the organization's
// registry hosts but not store or remove a credential.
func TestRegistryLoginNeedsAdmin(t *testing.T) {
	e := newEnv(t, withSecrets(t))
	var dep api.TokenCreated
	e.call("POST", "/v1/tokens", `{"name":"ci","role":"deploy"}`, http.StatusCreated, &dep)
	if code, b := e.do("PUT", "/v1/registry/logins/r.example", dep.Secret, `{"username":"u","password":"p"}`); code != http.StatusForbidden {
		t.Errorf("deploy token login: %d %s", code, b)
	}
	if code, b := e.do("GET", "/v1/registry/logins", dep.Secret, ""); code != http.StatusOK {
		t.Errorf("deploy token list: %d %s", code, b)
	}
	for _, body := range []string{`{"username":"","password":"p"}`, `{"username":"u","password":""}`} {
		if code, b := e.do("PUT", "/v1/registry/logins/r.example", e.admin, body); code != http.StatusBadRequest {
			t.Errorf("login %s: %d %s", body, code, b)
		}
	}
	if code, b := e.do("PUT", "/v1/registry/logins/a%2Fb", e.admin, `{"username":"u","password":"p"}`); code != http.StatusBadRequest {
		t.Errorf("login to a bad host: %d %s", code, b)
	}
}

// TestBuiltinRegistryImagesPin: an image of the built-in registry is
// pinned from the registry's own storage, with no credential and no
// round trip; a missing tag, and a repository of another organization,
// are refused with nothing created.
func TestBuiltinRegistryImagesPin(t *testing.T) {
	re := newRegistryEnv(t)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(re.url, "https://")
	insecure := remote.WithTransport(&http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}) //nolint:gosec // the test server's own certificate
	for _, repo := range []string{"default/app:1", "other/app:1"} {
		r, err := name.ParseReference(host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		auth := remote.WithAuth(&authn.Basic{Username: "admin", Password: re.admin})
		if repo == "other/app:1" {
			// Straight into the registry's storage, past Wharf's front
			// door: this server's admin may not push into another
			// organization.
			bare := httptest.NewServer(re.tr.reg.Handler())
			defer bare.Close()
			if r, err = name.ParseReference(strings.TrimPrefix(bare.URL, "http://")+"/"+repo, name.Insecure); err != nil {
				t.Fatal(err)
			}
			auth = remote.WithAuth(authn.Anonymous)
		}
		if err := remote.Write(r, img, insecure, auth); err != nil {
			t.Fatalf("push %s: %v", r, err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	image := re.s.cfg.RegistryHost + "/default/app:1"
	var svc api.Service
	re.call("POST", "/v1/services", `{"name":"app","spec":{"image":"`+image+`","replicas":1}}`, http.StatusCreated, &svc)
	if svc.ResolvedImage != image+"@"+digest.String() {
		t.Errorf("resolved %q, want %s@%s", svc.ResolvedImage, image, digest)
	}
	for _, bad := range []string{"/default/app:2", "/other/app:1", "/default/none:1"} {
		code, b := re.do("POST", "/v1/services", re.admin, `{"name":"bad","spec":{"image":"`+re.s.cfg.RegistryHost+bad+`","replicas":1}}`)
		if code != http.StatusBadRequest || !strings.Contains(string(b), "is not in the built-in registry") {
			t.Errorf("%s: %d %s", bad, code, b)
		}
	}
	if code, _ := re.do("GET", "/v1/services/bad", re.admin, ""); code != http.StatusNotFound {
		t.Errorf("a refused service exists: %d", code)
	}
}
