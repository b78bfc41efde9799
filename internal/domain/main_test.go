package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// One embedded etcd serves the whole test binary; each test gets its own
// key prefix, so tests never see each other's objects.
var testEtcd *store.Embedded

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "domain-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEtcd, err = store.StartEmbedded(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	testEtcd.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// The actors tests call as, one per role.
var (
	admin    = Actor{Name: "admin", Token: "t-admin", Org: DefaultOrg, Access: FullAccess(), Role: api.RoleAdmin}
	deployer = Actor{Name: "ci", Token: "t-ci", Org: DefaultOrg, Access: FullAccess(), Role: api.RoleDeploy}
	reader   = Actor{Name: "viewer", Token: "t-viewer", Org: DefaultOrg, Access: FullAccess(), Role: api.RoleReadOnly}
)

// newTestDomain is a domain over a store prefix of the test's own; tune,
// if given, adjusts the config first.
func newTestDomain(t testing.TB, tune ...func(*Config)) *Domain {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "/test/" + strings.NewReplacer("/", "_", "#", "_").Replace(t.Name()) + "-" + hex.EncodeToString(b[:])
	cfg := Config{Store: store.New(testEtcd.Client, prefix)}
	for _, f := range tune {
		f(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
