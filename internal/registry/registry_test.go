package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/registry/registrytest"
)

// TestS3Config: the S3 settings become the s3aws driver's parameters, and
// the driver is built from them (no S3 service runs here: nothing is
// contacted); settings the driver or Wharf refuses are errors naming the
// flag to fix.
func TestS3Config(t *testing.T) {
	cfg := Config{HTTPSecret: "s", S3: S3Config{Bucket: "images", Endpoint: "https://s3.example.test:9000", RootDirectory: "/wharf/", AccessKey: "AK", SecretKey: "SK"}}
	name, p, err := cfg.driver()
	if err != nil || name != "s3aws" {
		t.Fatalf("driver: %s %v", name, err)
	}
	want := map[string]any{"bucket": "images", "regionendpoint": "https://s3.example.test:9000", "forcepathstyle": true, "rootdirectory": "/wharf",
		"accesskey": "AK", "secretkey": "SK", "secure": true, "region": "us-east-1"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("parameter %s = %v, want %v", k, p[k], v)
		}
	}
	r, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New with S3: %v", err)
	}
	r.Close()
	if r.Storage() != "s3aws" {
		t.Fatalf("storage %s", r.Storage())
	}
	// AWS itself: a region, no endpoint.
	if _, p, err := (Config{S3: S3Config{Bucket: "b", Region: "eu-west-1"}}).driver(); err != nil || p["region"] != "eu-west-1" || p["regionendpoint"] != nil {
		t.Fatalf("AWS config: %v %v", p, err)
	}

	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{HTTPSecret: "s", S3: S3Config{Bucket: "b"}}, "--registry-s3-region"},
		{Config{HTTPSecret: "s", S3: S3Config{Region: "eu-west-1"}}, "--registry-s3-bucket"},
		{Config{HTTPSecret: "s", S3: S3Config{Bucket: "b", Region: "mars-north-1"}}, "invalid region"},
		{Config{HTTPSecret: "s", S3: S3Config{Bucket: "b", Endpoint: "http://minio:9000"}}, "--registry-s3-insecure"},
		{Config{HTTPSecret: "s", S3: S3Config{Bucket: "b", Region: "eu-west-1", AccessKey: "AK"}}, "go together"},
		{Config{S3: S3Config{Bucket: "b", Region: "eu-west-1"}}, "HTTPSecret"},
	} {
		_, err := New(t.Context(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", c.cfg.S3, err, c.want)
		}
	}
}

func TestReadS3Credentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ak, sk, err := ReadS3Credentials(write("ok", "# creds\nAWS_ACCESS_KEY_ID=AK\nAWS_SECRET_ACCESS_KEY = SK\n", 0o600))
	if err != nil || ak != "AK" || sk != "SK" {
		t.Fatalf("%q %q %v", ak, sk, err)
	}
	for name, c := range map[string]struct {
		body string
		mode os.FileMode
		want string
	}{
		"open":    {"AWS_ACCESS_KEY_ID=AK\nAWS_SECRET_ACCESS_KEY=SK\n", 0o644, "chmod 600"},
		"half":    {"AWS_ACCESS_KEY_ID=AK\n", 0o600, "needs both"},
		"unknown": {"PASSWORD=x\n", 0o600, "unknown name"},
	} {
		p := write(name, c.body, c.mode)
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadS3Credentials(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if _, _, err := ReadS3Credentials(p); err != nil && strings.Contains(err.Error(), "SK") {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
}

// TestGCNeverOverlapsAPush: a garbage collection refuses to run within
// GCQuiet of the last write (a push's layers are referenced by nothing
// until its manifest arrives), waits for a write in flight, and holds new
// writes back while it runs; then it removes only unreferenced blobs.
func TestGCNeverOverlapsAPush(t *testing.T) {
	r, err := New(t.Context(), Config{Dir: t.TempDir(), HTTPSecret: "s", GCQuiet: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	registrytest.Push(t, srv.Client(), srv.URL, nil, "default/app", "v1", "one")
	registrytest.Push(t, srv.Client(), srv.URL, nil, "default/app", "v2", "two")

	if _, err := r.GC(t.Context(), false); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "push may be in progress") {
		t.Fatalf("gc right after a push: %v", err)
	}
	if err := r.Remove(t.Context(), "default/app", "v2", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(350 * time.Millisecond)

	// A write in flight (held inside the handler) keeps the GC waiting.
	r.gc.RLock()
	done := make(chan error, 1)
	go func() { _, err := r.GC(t.Context(), false); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("gc ran during a write: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	r.gc.RUnlock()
	if err := <-done; err != nil {
		t.Fatalf("gc after the write: %v", err)
	}

	time.Sleep(350 * time.Millisecond)
	res, err := r.GC(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsAfter != res.BlobsBefore {
		t.Fatalf("a second gc removed more: %+v", res)
	}
	imgs, err := r.Images(t.Context(), "default/app")
	if err != nil || len(imgs) != 1 || imgs[0].Tag != "v1" {
		t.Fatalf("images after gc: %+v %v", imgs, err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v2/default/app/manifests/v1", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("v1 after gc: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestUploadSurvivesRestart: an upload begun on one registry is finished
// on another over the same storage with the same HTTP secret (a restart,
// a standby's takeover); with another secret it is refused.
func TestUploadSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	start := func(secret string) *httptest.Server {
		r, err := New(t.Context(), Config{Dir: dir, HTTPSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		srv := httptest.NewServer(r.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	a := start("the cluster's secret")
	resp, err := a.Client().Post(a.URL+"/v2/default/app/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	blob := "a layer"
	put := func(srv *httptest.Server) int {
		u := strings.Replace(loc, a.URL, srv.URL, 1)
		if strings.HasPrefix(u, "/") {
			u = srv.URL + u
		}
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		req, _ := http.NewRequest(http.MethodPut, u+sep+"digest=sha256:"+sha256hex(blob), strings.NewReader(blob))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(start("another secret")); code == http.StatusCreated {
		t.Fatal("an upload's state was accepted under another secret")
	}
	if code := put(start("the cluster's secret")); code != http.StatusCreated {
		t.Fatalf("finish the upload after a restart: %d", code)
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestGCOfAnEmptyRegistry: a registry nothing was pushed to collects
// nothing, without an error (its storage has no repositories yet).
func TestGCOfAnEmptyRegistry(t *testing.T) {
	r, err := New(t.Context(), Config{Dir: t.TempDir(), HTTPSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.GC(t.Context(), true)
	if err != nil || res.BlobsBefore != 0 || res.BlobsAfter != 0 {
		t.Fatalf("GC of an empty registry: %+v %v", res, err)
	}
}
