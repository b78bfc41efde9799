package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadUnlockKey(t *testing.T) {
	if k, err := readUnlockKey(strings.NewReader("  WHARF-KEK-1-abc \nmore\n"), ""); err != nil || k != "WHARF-KEK-1-abc" {
		t.Fatalf("from stdin: %q %v", k, err)
	}
	p := filepath.Join(t.TempDir(), "key")
	_ = os.WriteFile(p, []byte("WHARF-KEK-1-def\n"), 0o600)
	if k, err := readUnlockKey(strings.NewReader("ignored"), p); err != nil || k != "WHARF-KEK-1-def" {
		t.Fatalf("from a file: %q %v", k, err)
	}
	if _, err := readUnlockKey(strings.NewReader(""), ""); err == nil || !strings.Contains(err.Error(), "--key-file") {
		t.Fatalf("nothing on stdin: %v", err)
	}
}

func TestEtcdPasswordNeverFromArgv(t *testing.T) {
	t.Setenv("WHARF_ETCD_PASSWORD", "from-env")
	if pw, err := etcdPassword(""); err != nil || pw != "from-env" {
		t.Fatalf("from the environment: %q %v", pw, err)
	}
	p := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(p, []byte("from-file\n"), 0o600)
	if pw, err := etcdPassword(p); err != nil || pw != "from-file" {
		t.Fatalf("from a file: %q %v", pw, err)
	}
	if f := newServerCmd(&globals{}).Flags(); f.Lookup("etcd-password") != nil || f.Lookup("unlock-key") != nil {
		t.Fatal("a secret is taken on the command line")
	}
}
