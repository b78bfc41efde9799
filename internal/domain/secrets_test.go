package domain

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/seal"
	"github.com/wharfhq/wharf/internal/store"
)

// withSealer gives the test domain a sealer over a fresh data key.
func withSealer(t testing.TB) func(*Config) {
	return func(c *Config) {
		kek, err := seal.NewKEK()
		if err != nil {
			t.Fatal(err)
		}
		_, s, err := seal.CreateKeyring(context.Background(), c.Store, kek, false)
		if err != nil {
			t.Fatal(err)
		}
		c.Sealer = s
	}
}

// mustNotContain fails when any JSON form of v contains value (raw or
// base64).
func mustNotContain(t *testing.T, what string, v any, value string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{value, base64.StdEncoding.EncodeToString([]byte(value))} {
		if bytes.Contains(b, []byte(needle)) {
			t.Fatalf("%s carries the secret's value: %s", what, b)
		}
	}
}

// addService stores a service (bypassing the service operations, which
// are not in this package yet).
func addService(t *testing.T, d *Domain, name string, refs ...api.SecretRef) *api.Service {
	t.Helper()
	svc := &api.Service{Meta: api.Meta{ID: "svc-" + name, Name: name}, Spec: api.ServiceSpec{Command: []string{"true"}, Replicas: 1, Running: true, Secrets: refs}}
	if err := d.st.Create(context.Background(), store.KindServices, svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestSecretLifecycleNeverShowsTheValue(t *testing.T) {
	ctx := context.Background()
	d := newTestDomain(t, withSealer(t))
	const value = "hunter2-distinctive-VALUE-7f3a"
	s, err := d.CreateSecret(ctx, deployer, "db_password", []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	if s.Size != len(value) || s.Version != 1 || s.Name != "db_password" || s.ID == "" {
		t.Fatalf("created %+v", s)
	}
	mustNotContain(t, "create's answer", s, value)
	got, err := d.GetSecret(ctx, reader, "db_password")
	if err != nil {
		t.Fatal(err)
	}
	mustNotContain(t, "inspect", got, value)
	list, err := d.ListSecrets(ctx, reader, Page{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	mustNotContain(t, "list", list, value)

	up, err := d.UpdateSecret(ctx, deployer, s.ID, []byte(value+"-v2"), got.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if up.Version != 2 || up.Size != len(value)+3 {
		t.Fatalf("updated %+v", up)
	}
	mustNotContain(t, "update's answer", up, value)
	if _, err := d.UpdateSecret(ctx, deployer, s.ID, []byte("x"), got.Revision); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("update at a stale revision: %v", err)
	}

	// What the store holds is sealed, and the events are about it only.
	res, err := d.st.List(ctx, store.KindSecrets, store.ListOptions{})
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("stored: %v %v", res, err)
	}
	raw := string(res.Items[0].Value)
	if !strings.Contains(raw, "wharf-sealed-v1:") {
		t.Fatalf("stored form is not sealed: %s", raw)
	}
	for _, kind := range []string{store.KindSecrets, store.KindEvents, store.KindNames, store.KindActions} {
		res, err := d.st.List(ctx, kind, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			mustNotContain(t, kind+"/"+it.ID, string(it.Value), value)
		}
	}

	if err := d.RemoveSecret(ctx, deployer, "db_password", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetSecret(ctx, admin, "db_password"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("after remove: %v", err)
	}
	// The name is free again.
	if _, err := d.CreateSecret(ctx, admin, "db_password", []byte("again")); err != nil {
		t.Fatal(err)
	}
}

func TestSecretPermissions(t *testing.T) {
	ctx := context.Background()
	d := newTestDomain(t, withSealer(t))
	s, err := d.CreateSecret(ctx, admin, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	forbidden := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errdefs.ErrForbidden) {
			t.Errorf("reader %s: %v, want forbidden", what, err)
		}
	}
	_, err = d.CreateSecret(ctx, reader, "other", []byte("v"))
	forbidden("create", err)
	_, err = d.UpdateSecret(ctx, reader, "k", []byte("w"), 0)
	forbidden("update", err)
	forbidden("remove", d.RemoveSecret(ctx, reader, "k", 0))
	nobody := Actor{Name: "x", Access: FullAccess(), Role: api.RoleReadOnly}
	if _, err := d.GetSecret(ctx, nobody, "k"); err != nil {
		t.Errorf("reader inspect: %v", err)
	}
	// Nothing was written.
	got, err := d.GetSecret(ctx, admin, "k")
	if err != nil || got.Version != 1 || got.Revision != s.Revision {
		t.Fatalf("after refused calls: %+v %v", got, err)
	}
	if _, err := d.GetSecret(ctx, admin, "other"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("refused create wrote: %v", err)
	}
}

func TestSecretValidation(t *testing.T) {
	ctx := context.Background()
	d := newTestDomain(t, withSealer(t))
	for name, data := range map[string][]byte{
		"../x": []byte("v"), "": []byte("v"), "a/b": []byte("v"),
		"empty": nil, "big": bytes.Repeat([]byte("x"), api.MaxSecretSize+1),
	} {
		if _, err := d.CreateSecret(ctx, admin, name, data); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("create %q (%d bytes): %v, want invalid", name, len(data), err)
		}
	}
	if _, err := d.CreateSecret(ctx, admin, "max", bytes.Repeat([]byte("x"), api.MaxSecretSize)); err != nil {
		t.Errorf("500 KiB: %v", err)
	}
	if _, err := d.CreateSecret(ctx, admin, "max", []byte("x")); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("same name twice: %v", err)
	}
	bad := [][]api.SecretRef{
		{{Source: "a", Target: "../etc/passwd"}},
		{{Source: "a", Target: "x/y"}},
		{{Source: "a", Target: ".."}},
		{{Source: "a", Target: "."}},
		{{Source: "a b"}},
		{{Source: "a"}, {Source: "b", Target: "a"}},
		{{Source: "a", Mode: 0o4755}},
	}
	for _, refs := range bad {
		if err := ValidateSecretRefs(refs); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%+v: %v, want invalid", refs, err)
		}
	}
	if err := ValidateSecretRefs([]api.SecretRef{{Source: "a"}, {Source: "a", Target: "b.pem", Mode: 0o444}}); err != nil {
		t.Errorf("good refs: %v", err)
	}
	spec := &api.ServiceSpec{Secrets: []api.SecretRef{{Source: "max"}, {Source: "nope"}}}
	err := d.CheckSecretRefs(ctx, deployer, spec, "spec")
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), `"nope" does not exist`) {
		t.Errorf("missing secret: %v", err)
	}
	spec.Secrets = spec.Secrets[:1]
	if err := d.CheckSecretRefs(ctx, deployer, spec, "spec"); err != nil {
		t.Errorf("existing secret: %v", err)
	}
}

func TestSecretUpdateRollsItsServicesAndRemoveIsRefused(t *testing.T) {
	ctx := context.Background()
	d := newTestDomain(t, withSealer(t))
	if _, err := d.CreateSecret(ctx, deployer, "tls", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	user := addService(t, d, "web", api.SecretRef{Source: "tls", Target: "tls.pem"})
	other := addService(t, d, "db")
	if _, err := d.UpdateSecret(ctx, deployer, "tls", []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	var got api.Service
	if err := d.st.Get(ctx, store.KindServices, user.ID, &got); err != nil {
		t.Fatal(err)
	}
	if got.RestartGeneration <= user.RestartGeneration {
		t.Errorf("the using service's generation stayed %d", got.RestartGeneration)
	}
	got = api.Service{}
	if err := d.st.Get(ctx, store.KindServices, other.ID, &got); err != nil {
		t.Fatal(err)
	}
	if got.RestartGeneration != other.RestartGeneration {
		t.Errorf("a service without the secret was rolled: generation %d", got.RestartGeneration)
	}
	err := d.RemoveSecret(ctx, admin, "tls", 0)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "web") {
		t.Fatalf("remove of a used secret: %v", err)
	}
	if _, err := d.GetSecret(ctx, admin, "tls"); err != nil {
		t.Fatalf("refused remove deleted it: %v", err)
	}
}

// TestSecretValueNotInEtcdFiles: the value is nowhere in etcd's files
// (WAL and snapshots), only its sealed form.
func TestSecretValueNotInEtcdFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb, err := store.StartEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Store: store.New(emb.Client, "/wharf")})
	if err != nil {
		t.Fatal(err)
	}
	withSealer(t)(&d.cfg)
	const value = "at-rest-CANARY-5e1f09d2c4"
	if _, err := d.CreateSecret(ctx, admin, "canary", []byte(value)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UpdateSecret(ctx, admin, "canary", []byte(value+"-two"), 0); err != nil {
		t.Fatal(err)
	}
	emb.Close() // everything it acknowledged is on disk now
	files := 0
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, needle := range []string{value, base64.StdEncoding.EncodeToString([]byte(value)), "canary"} {
			if bytes.Contains(b, []byte(needle)) && needle != "canary" {
				t.Errorf("%s contains the secret's value (%q)", path, needle)
			}
		}
		if bytes.Contains(b, []byte("canary")) {
			files += 1000 // the secret's name is there: the dir holds the data
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 1000 {
		t.Fatalf("the secret's name is in none of the %d files: not the store's data dir?", files)
	}
}

// A secret that only a service's previous spec uses (a rollback would run
// it again) cannot be removed either.
func TestSecretUsedByAPreviousSpecIsKept(t *testing.T) {
	ctx := context.Background()
	d := newTestDomain(t, withSealer(t))
	if _, err := d.CreateSecret(ctx, admin, "old", []byte("v")); err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{Meta: api.Meta{ID: "svc-web", Name: "web"}, Spec: api.ServiceSpec{Command: []string{"x"}},
		PreviousSpec: &api.ServiceSpec{Command: []string{"x"}, Secrets: []api.SecretRef{{Source: "old"}}}}
	if err := d.st.Create(ctx, store.KindServices, svc); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveSecret(ctx, admin, "old", 0); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("remove: %v", err)
	}
}
