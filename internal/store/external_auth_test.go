package store

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/wharfhq/wharf/internal/pki"
	"github.com/wharfhq/wharf/internal/store/etcdtest"
)

// startTestEtcd runs a real etcd for a test, set up by mutate; its peer
// socket is a file in dir.
func startTestEtcd(t *testing.T, dir string, mutate func(*embed.Config)) *embed.Etcd {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "ext"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// As StartEmbedded does: listen on a socket file, advertise its URL.
	listen := url.URL{Scheme: "unix", Host: filepath.Join(dir, "peer.sock")}
	advertise, _ := url.Parse("unix://" + filepath.Join(dir, "peer.sock"))
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{listen}, []url.URL{*advertise}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	mutate(cfg)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatal(err)
	case <-time.After(60 * time.Second):
		t.Fatal("test etcd not ready in 60s")
	}
	return e
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExternalEtcdWithClientCertificates: an etcd that requires client
// certificates (--client-cert-auth) is reached with --etcd-cert/--etcd-key
// and refused without them, or with a certificate of another CA.
func TestExternalEtcdWithClientCertificates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca, err := pki.NewCA("test etcd CA")
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client := func(ca *pki.CA, name string) (string, string) {
		keyPEM, csrPEM, err := pki.NewKeyAndCSR(name)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, _, err := ca.SignNodeCSR(csrPEM, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, filepath.Join(dir, name+".crt"), certPEM), writeFile(t, filepath.Join(dir, name+".key"), keyPEM)
	}
	caFile := writeFile(t, filepath.Join(dir, "ca.crt"), ca.CertPEM())
	const addr = "127.0.0.1:22101"
	startTestEtcd(t, dir, func(cfg *embed.Config) {
		u := url.URL{Scheme: "https", Host: addr}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{u}, []url.URL{u}
		cfg.ClientTLSInfo.CertFile = writeFile(t, filepath.Join(dir, "srv.crt"), srvCert)
		cfg.ClientTLSInfo.KeyFile = writeFile(t, filepath.Join(dir, "srv.key"), srvKey)
		cfg.ClientTLSInfo.TrustedCAFile = caFile
		cfg.ClientTLSInfo.ClientCertAuth = true
	})
	endpoints := []string{"https://" + addr}

	certFile, keyFile := client(ca, "wharf")
	cli, err := Connect(ctx, External{Endpoints: endpoints, CACert: caFile, Cert: certFile, Key: keyFile})
	if err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	if _, err := New(cli, "/wharf").Client().Put(ctx, "/wharf/x", "1"); err != nil {
		t.Fatal(err)
	}
	_ = cli.Close()

	if _, err := Connect(ctx, External{Endpoints: endpoints, CACert: caFile}); err == nil {
		t.Fatal("connected without a client certificate")
	} else if t.Log("without a certificate: ", err); !strings.Contains(err.Error(), "--etcd-cert") {
		t.Errorf("the refusal does not say which flag to give: %v", err)
	}
	other, _ := pki.NewCA("another CA")
	badCert, badKey := client(other, "mallory")
	if _, err := Connect(ctx, External{Endpoints: endpoints, CACert: caFile, Cert: badCert, Key: badKey}); err == nil {
		t.Fatal("connected with a certificate of another CA")
	}
	if _, err := Connect(ctx, External{Endpoints: endpoints, Cert: certFile}); err == nil || !strings.Contains(err.Error(), "--etcd-key") {
		t.Fatalf("a certificate without its key: %v", err)
	}
}

// TestExternalEtcdWithUsers: an etcd with authentication enabled is reached
// as a user that may only use /wharf/, and refused without a user or with
// a wrong password, each with a message that names what to give.
func TestExternalEtcdWithUsers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "client.sock")
	e := startTestEtcd(t, dir, func(cfg *embed.Config) {
		u, _ := url.Parse(sock)
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*u}, []url.URL{*u}
	})
	endpoints := []string{sock}
	admin, err := Connect(ctx, External{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	if err := etcdtest.EnableAuth(ctx, admin, "/wharf/", "wharf", "s3cret"); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	_ = e

	cli, err := Connect(ctx, External{Endpoints: endpoints, Username: "wharf", Password: "s3cret"})
	if err != nil {
		t.Fatalf("as the wharf user: %v", err)
	}
	if _, err := cli.Put(ctx, "/wharf/x", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/other-app/x", "1"); err == nil {
		t.Fatal("the wharf user wrote outside /wharf/: the test's role is wrong")
	}
	_ = cli.Close()

	for _, c := range []struct {
		x    External
		want string
	}{
		{External{Endpoints: endpoints}, "--etcd-user"},
		{External{Endpoints: endpoints, Username: "wharf", Password: "guess"}, "check --etcd-user and the password"},
		{External{Endpoints: endpoints, Password: "s3cret"}, "without --etcd-user"},
	} {
		_, err := Connect(ctx, c.x)
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Connect(user %q) = %v; want a refusal that says %q", c.x.Username, err, c.want)
		}
	}
}
