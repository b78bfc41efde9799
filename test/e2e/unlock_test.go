package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testcluster"
	"github.com/wharfhq/wharf/internal/testserver"
)

// TestAutolockAndUnlockWithTheCLI: `wharf server --autolock` prints the
// unlock key once and keeps no KEK file; restarted, it answers "server is
// locked" until `wharf server unlock` gives it the key (from stdin or a
// file), and refuses a wrong one.
func TestAutolockAndUnlockWithTheCLI(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Args: []string{"--autolock"}})
	out, err := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`WHARF-KEK-1-[A-Za-z0-9_-]+`).FindString(string(out))
	if key == "" {
		t.Fatal("no unlock key printed")
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "kek")); !os.IsNotExist(err) {
		t.Fatalf("a locked cluster's server keeps a KEK file: %v", err)
	}
	token := s.Token()
	s.Stop()
	s.Launch()

	e := newEnv(t)
	ca := filepath.Join(s.DataDir, "ca.crt")
	conn := []string{"--addr", s.URL, "--cacert", ca}
	unlock := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(wharfBin, append(append([]string{"server", "unlock"}, conn...), args...)...)
		cmd.Env, cmd.Stdin = e.environ(), strings.NewReader(stdin)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	testcluster.Eventually(t, time.Minute, func() error {
		_, err := e.try(append([]string{"node", "ls", "--token", token}, conn...)...)
		if err == nil || !strings.Contains(err.Error(), "server is locked: run `wharf server unlock`") {
			return fmt.Errorf("want the locked message, got %v", err)
		}
		return nil
	})
	if out, err := unlock("WHARF-KEK-1-" + strings.Repeat("A", 43) + "\n"); err == nil || !strings.Contains(out, "wrong unlock key") {
		t.Fatalf("a wrong key: %v %s", err, out)
	}
	keyFile := filepath.Join(t.TempDir(), "unlock-key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 10*time.Second, func() error { // a second's wait after the wrong key
		out, err := unlock("", "--key-file", keyFile)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	if err := s.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	e.wharf(append([]string{"node", "ls", "--token", token}, conn...)...)
	if out, err := unlock(key + "\n"); err == nil || !strings.Contains(out, "is not locked") {
		t.Fatalf("unlock of a running server: %v %s", err, out)
	}
}
