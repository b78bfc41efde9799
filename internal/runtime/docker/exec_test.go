package docker

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker/dockertest"
)

// TestExec: a command run in a running container writes its output to w
// and returns its exit code; unknown and exited containers are refused.
func TestExec(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "exec-"+t.Name())
	if _, err := d.Start(ctx20(t), spec(image, "exec1")); err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	code, err := d.Exec(ctx20(t), "exec1", []string{"/wharf", "version"}, &out)
	if err != nil || code != 0 {
		t.Fatalf("Exec of `/wharf version` = %d, %v; want exit 0", code, err)
	}
	if !strings.HasPrefix(out.String(), "wharf ") || strings.ContainsAny(out.String(), "\x00\x01\x02") {
		t.Errorf("output of `/wharf version` = %q, want plain text starting with \"wharf \"", out.String())
	}

	code, err = d.Exec(ctx20(t), "exec1", []string{"/wharf", "hello", "--exit-code", "3"}, io.Discard)
	if err != nil || code != 3 {
		t.Errorf("Exec of `/wharf hello --exit-code 3` = %d, %v; want exit 3", code, err)
	}

	out.Reset()
	code, err = d.Exec(ctx20(t), "exec1", []string{"/wharf", "hello", "--no-such-flag"}, &out)
	if err != nil || code != 1 || !strings.HasSuffix(out.String(), "wharf: unknown flag: --no-such-flag\n") {
		t.Errorf("Exec with a bad flag = %d, %v, output %q; want exit 1 and the CLI's error on stderr", code, err, out.String())
	}

	if _, err := d.Exec(ctx20(t), "no-such-id", []string{"/wharf", "version"}, io.Discard); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Exec in an unknown container: %v, want ErrNotFound", err)
	}
}

func TestExecNotRunning(t *testing.T) {
	t.Parallel()
	image := dockertest.HelloImage(t)
	d := newDriver(t, "execdone-"+t.Name())
	s := runtime.Spec{ID: "execdone1", Name: "job-1", Image: image, Command: []string{"version"}}
	if _, err := d.Start(ctx20(t), s); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(ctx20(t), s.ID); err != nil {
		t.Fatal(err)
	}
	_, err := d.Exec(ctx20(t), s.ID, []string{"/wharf", "version"}, io.Discard)
	if !errors.Is(err, runtime.ErrNotRunning) || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Exec in an exited container: %v, want ErrNotRunning", err)
	}
}
