package multihost

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ImageTag names the image the tests build; it may stay after a run.
const ImageTag = "wharf-mh:test"

// dockerfile puts both static binaries in an otherwise empty image; WORKDIR
// makes the empty /tmp.
const dockerfile = `FROM scratch
COPY wharf nodeinit /
WORKDIR /tmp
WORKDIR /
`

// Build is what BuildImage made: the image and, for the host's CLI, the
// same wharf binary that is in it.
type Build struct {
	Image string
	Wharf string // path of the static wharf binary on the host
	dir   string
}

// Close removes the build directory (and so the host's binary).
func (b *Build) Close() error { return os.RemoveAll(b.dir) }

// BuildImage builds static (CGO_ENABLED=0) wharf and nodeinit binaries and
// the image ImageTag holding them, FROM scratch with the classic builder.
// When WHARF_BIN names a static wharf binary, that one is used instead of
// building it.
func BuildImage() (*Build, error) {
	dir, err := os.MkdirTemp("", "wharf-mh-build")
	if err != nil {
		return nil, err
	}
	b := &Build{Image: ImageTag, Wharf: filepath.Join(dir, "wharf"), dir: dir}
	if err := b.build(); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Build) build() error {
	env := append(os.Environ(), "CGO_ENABLED=0")
	pkgs := map[string]string{
		"wharf":    "github.com/wharfhq/wharf/cmd/wharf",
		"nodeinit": "github.com/wharfhq/wharf/test/multihost/nodeinit",
	}
	if bin := os.Getenv("WHARF_BIN"); bin != "" {
		data, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		if err := os.WriteFile(b.Wharf, data, 0o755); err != nil {
			return err
		}
		delete(pkgs, "wharf")
	}
	for out, pkg := range pkgs {
		if _, err := run(5*time.Minute, env, "go", "build", "-trimpath", "-o", filepath.Join(b.dir, out), pkg); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(b.dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	denv := append(os.Environ(), "DOCKER_BUILDKIT=0")
	if _, err := run(5*time.Minute, denv, "docker", "build", "-q", "-t", b.Image, b.dir); err != nil {
		return fmt.Errorf("build image %s: %w", b.Image, err)
	}
	return checkStatic(b.Wharf)
}

// checkStatic makes sure the binary asks for no dynamic loader (no
// PT_INTERP program header): FROM scratch has none.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; it cannot run FROM scratch", path)
		}
	}
	return nil
}
