package buildtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// ExampleApp copies examples/build to a temporary directory with its two
// static binaries built into their build contexts, as `make examples`
// does, and returns the copy's compose file. The repository itself is
// left as it is.
func ExampleApp(tb testing.TB) string {
	tb.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("buildtest: cannot find the repository")
	}
	root := filepath.Join(filepath.Dir(self), "..", "..", "..")
	dst := filepath.Join(tb.TempDir(), "build")
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "examples", "build"), dst).CombinedOutput(); err != nil {
		tb.Fatalf("cp: %v: %s", err, out)
	}
	for _, prog := range []string{"web", "worker"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dst, prog, prog), "./examples/build/"+prog)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v: %s", prog, err, out)
		}
	}
	return filepath.Join(dst, "compose.yml")
}
