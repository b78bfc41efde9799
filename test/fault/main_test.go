package fault

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/test/multihost"
)

// build is the image and host binary every scenario shares; buildErr is why
// there is none although Docker answers.
var (
	build    *multihost.Build
	buildErr error
)

func TestMain(m *testing.M) {
	if multihost.DockerAvailable() == nil {
		start := time.Now()
		build, buildErr = multihost.BuildImage()
		if buildErr == nil {
			fmt.Fprintf(os.Stderr, "fault: built %s in %s\n", build.Image, time.Since(start).Round(time.Millisecond))
		}
	}
	code := m.Run()
	if build != nil {
		_ = build.Close()
	}
	os.Exit(code)
}

// long reports whether the long form runs (WHARF_FAULT_LONG=1).
func long() bool { return os.Getenv("WHARF_FAULT_LONG") == "1" }

// pick returns short in the short form and long in the long form.
func pick[T any](short, long_ T) T {
	if long() {
		return long_
	}
	return short
}

// runs is how many times a scenario runs in a row: once in the short form,
// WHARF_FAULT_RUNS (default 3) times in the long form.
func runs() int {
	if !long() {
		return 1
	}
	if n, err := strconv.Atoi(os.Getenv("WHARF_FAULT_RUNS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// eachRun runs a scenario runs() times, each as a subtest with a cluster of
// its own.
func eachRun(t *testing.T, scenario func(t *testing.T)) {
	multihost.RequireDocker(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	for i := 1; i <= runs(); i++ {
		if !t.Run(fmt.Sprintf("run-%d", i), scenario) {
			return
		}
	}
}
