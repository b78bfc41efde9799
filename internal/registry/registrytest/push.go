// Package registrytest pushes small images through the registry API for
// tests: a config blob, one layer and an OCI image manifest, with the
// HTTP requests the docker CLI sends (monolithic blob uploads).
package registrytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Push pushes a tiny image as repo:tag to the registry at base (e.g.
// "https://127.0.0.1:7443"), each request passed through auth (nil: none),
// and returns the manifest's digest. content makes images differ.
func Push(t testing.TB, c *http.Client, base string, auth func(*http.Request), repo, tag, content string) string {
	t.Helper()
	digest, err := TryPush(c, base, auth, repo, tag, content)
	if err != nil {
		t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	return digest
}

// TryPush is Push returning the error of the first refused request.
func TryPush(c *http.Client, base string, auth func(*http.Request), repo, tag, content string) (string, error) {
	layer := []byte("layer " + content)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + sha(layer) + `"]}}`)
	for _, blob := range [][]byte{config, layer} {
		if err := pushBlob(c, base, auth, repo, blob); err != nil {
			return "", err
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		sha(config), len(config), sha(layer), len(layer))
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/"+repo+"/manifests/"+tag, strings.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	if _, err := send(c, req, auth, http.StatusCreated); err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	return sha([]byte(manifest)), nil
}

func pushBlob(c *http.Client, base string, auth func(*http.Request), repo string, blob []byte) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", nil)
	resp, err := send(c, req, auth, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("start upload: %w", err)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	u, _ := url.Parse(base)
	loc = u.ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", sha(blob))
	loc.RawQuery = q.Encode()
	req, _ = http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(blob))
	req.Header.Set("Content-Type", "application/octet-stream")
	if _, err := send(c, req, auth, http.StatusCreated); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

// Status sends a request with auth and returns its status and body.
func Status(c *http.Client, method, u string, auth func(*http.Request)) (int, string, http.Header, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	if auth != nil {
		auth(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, nil
}

func send(c *http.Client, req *http.Request, auth func(*http.Request), want int) (*http.Response, error) {
	if auth != nil {
		auth(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return resp, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return resp, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
