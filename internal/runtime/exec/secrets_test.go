package exec

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

const secretValue = "exec-CANARY-secret-41d2"

func secretSpec(id string) runtime.Spec {
	spec := shSpec(id, `echo "dir=$WHARF_SECRETS_DIR"; echo "pw=$(cat "$WHARF_SECRETS_DIR/pw")"; `+
		`stat -c 'mode=%a owner=%u' "$WHARF_SECRETS_DIR/pw"; stat -c 'dirmode=%a' "$WHARF_SECRETS_DIR"; exec sleep 600`)
	spec.Secrets = []api.SecretFile{{Target: "pw", Mode: 0o400, Data: []byte(secretValue), Version: "s1.1"}}
	spec.SecretsVersion = runtime.SecretsVersion(spec.Secrets)
	return spec
}

// checkSecretRun: the workload read the value from $WHARF_SECRETS_DIR/pw,
// a 0400 file of its own user in a 0500 directory; the state file never
// holds the value; the files go when the run ends and when it is removed.
func checkSecretRun(t *testing.T, d *Driver, dir string, uid int) {
	t.Helper()
	start(t, d, secretSpec("s1"))
	logs := waitLogs(t, d, "s1", func(s string) bool { return strings.Contains(s, "dirmode=") })
	sd := filepath.Join(dir, "s1", secretsDir)
	for _, want := range []string{"dir=" + sd + "\n", "pw=" + secretValue + "\n", "mode=400 owner=" + itoa(uid) + "\n", "dirmode=500\n"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs %q lack %q", logs, want)
		}
	}
	state, err := os.ReadFile(filepath.Join(dir, "s1", stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(state, []byte(secretValue)) || !bytes.Contains(state, []byte("pw:400:s1.1")) {
		t.Errorf("state file: %s", state)
	}
	if err := d.Stop(ctx10(t), "s1", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sd); !os.IsNotExist(err) {
		t.Errorf("secrets directory after the run ended: %v", err)
	}
	// A new run gets them again; Remove takes them away.
	start(t, d, secretSpec("s1"))
	waitLogs(t, d, "s1", func(s string) bool { return strings.Count(s, "pw="+secretValue) == 2 })
	if err := d.Remove(ctx10(t), "s1"); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(secretValue)) {
			t.Errorf("%s holds the value after Remove", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	checkSecretRun(t, newDriver(t, dir), dir, os.Geteuid())
}

func TestSecretFilesAsUser(t *testing.T) {
	u := nobody(t)
	dir := filepath.Join(reachableDir(t), "exec")
	checkSecretRun(t, newUserDriver(t, dir, u), dir, int(u.UID))
}

func TestSecretFileNamesStayInTheDirectory(t *testing.T) {
	d := newDriver(t, t.TempDir())
	spec := secretSpec("s2")
	spec.Secrets[0].Target = "../work/x"
	if _, err := d.Start(ctx10(t), spec); err == nil {
		t.Fatal("a secret file name with a slash was written")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
