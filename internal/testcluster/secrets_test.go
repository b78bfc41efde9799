package testcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
	"github.com/wharfhq/wharf/internal/runtime/exec"
	"github.com/wharfhq/wharf/internal/runtime/fake"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func sha(v string) string {
	s := sha256.Sum256([]byte(v))
	return hex.EncodeToString(s[:])
}

// TestSecretEndToEnd: a real server and two agents. The service using a
// secret runs on the exec node, whose workload reads the value from
// $WHARF_SECRETS_DIR (it prints its SHA-256, never the value); updating
// the secret rolls the service and the new container reads the new value;
// the fake node, which runs no consumer, never gets it; the value is in
// no API answer, event, action, server or agent log line, nor in the
// server's data dir (etcd's files).
func TestSecretEndToEnd(t *testing.T) {
	var logs syncBuffer
	c := Start(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	drv, err := exec.New(filepath.Join(t.TempDir(), "exec"))
	if err != nil {
		t.Fatal(err)
	}
	other := fake.New()
	c.AddAgent("with-exec", map[string]string{"role": "consumer"}, drv)
	c.AddAgent("with-fake", map[string]string{"role": "other"}, other)
	Eventually(t, 30*time.Second, func() error {
		nodes, err := c.Client.Nodes(ctx)
		if err != nil {
			return err
		}
		n := 0
		for _, nd := range nodes {
			if nd.State == api.NodeDeployed {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("%d of 2 nodes deployed", n)
		}
		return nil
	})

	const v1, v2 = "e2e-CANARY-first-6b1d", "e2e-CANARY-second-0c9e"
	if _, err := c.Client.CreateSecret(ctx, "db_password", []byte(v1)); err != nil {
		t.Fatal(err)
	}
	spec := api.ServiceSpec{Driver: "exec", Replicas: 1, Tags: []string{"role=consumer"},
		Command: []string{"/bin/sh", "-c", `sha256sum "$WHARF_SECRETS_DIR/pw"; exec sleep 600`},
		Secrets: []api.SecretRef{{Source: "db_password", Target: "pw"}}}
	if _, err := c.Client.CreateService(ctx, "reader", spec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CreateService(ctx, "bystander", api.ServiceSpec{Driver: "fake", Command: []string{"x"}, Replicas: 1, Tags: []string{"role=other"}}); err != nil {
		t.Fatal(err)
	}
	waitRead := func(value string) {
		t.Helper()
		Eventually(t, 60*time.Second, func() error {
			cts, err := c.Client.Containers(ctx, "reader", "")
			if err != nil {
				return err
			}
			for _, ct := range cts {
				if ct.Status.State != api.ContainerRunning {
					continue
				}
				out, err := containerLogs(ctx, c.Client, ct.ID)
				if err != nil {
					return err
				}
				if strings.Contains(out, sha(value)) {
					return nil
				}
			}
			return fmt.Errorf("no running container read the value yet: %+v", cts)
		})
	}
	waitRead(v1)
	if _, err := c.Client.UpdateSecret(ctx, "db_password", []byte(v2), 0); err != nil {
		t.Fatal(err)
	}
	waitRead(v2)

	// The bystander's node never got it.
	cts, err := c.Client.Containers(ctx, "bystander", "")
	if err != nil || len(cts) != 1 {
		t.Fatalf("bystander containers %v %v", cts, err)
	}
	if f := other.SecretFiles(cts[0].ID); f != nil {
		t.Fatalf("the fake node got secret files: %v", f)
	}
	// Nowhere in what the API answers...
	var seen [][]byte
	for _, p := range []string{"/v1/secrets", "/v1/secrets/db_password", "/v1/services/reader", "/v1/containers", "/v1/events", "/v1/actions"} {
		var raw any
		if err := c.Client.Do(ctx, "GET", p, nil, &raw); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		seen = append(seen, []byte(fmt.Sprint(raw)))
	}
	seen = append(seen, logs.Bytes())
	for _, b := range seen {
		for _, v := range []string{v1, v2} {
			if bytes.Contains(b, []byte(v)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(v)))) {
				t.Fatalf("the value shows in %s", b)
			}
		}
	}
	// ...nor in the server's files once it stopped.
	c.Stop()
	found := 0
	err = filepath.WalkDir(c.cfg.DataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("db_password")) {
			found++
		}
		for _, v := range []string{v1, v2} {
			if bytes.Contains(b, []byte(v)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(v)))) {
				t.Errorf("%s holds the value", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("the secret's name is in no file of the data dir: not etcd's?")
	}
}

func containerLogs(ctx context.Context, c *client.Client, id string) (string, error) {
	rc, err := c.Stream(ctx, client.LogsPath("containers", id, false, 0), nil)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}
