package compose

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Build is a service's build: section, as `wharf stack deploy` builds it
// (see package build): the context directory, the Dockerfile, build
// arguments and the target stage. Nothing else of Compose's build keys is
// supported; the ones that change what is built are refused.
type Build struct {
	// Context is the absolute path of the context directory.
	Context string `json:"context"`
	// Dockerfile is the Dockerfile's path, relative to Context (it may
	// lead out of it, as in Compose), or absolute. Default "Dockerfile".
	Dockerfile string            `json:"dockerfile"`
	Args       map[string]string `json:"args,omitempty"`
	Target     string            `json:"target,omitempty"`
	// Image is the service's image: key, "" when it has none. It names
	// the built image: see build.Repository for where it is pushed.
	Image string `json:"image,omitempty"`
}

// buildRefused are the build keys Wharf refuses: each changes what is
// built, so ignoring it would deploy something else than the file says.
var buildRefused = []struct {
	key string
	set func(b *types.BuildConfig) bool
}{
	{"dockerfile_inline", func(b *types.BuildConfig) bool { return b.DockerfileInline != "" }},
	{"ssh", func(b *types.BuildConfig) bool { return len(b.SSH) > 0 }},
	{"secrets", func(b *types.BuildConfig) bool { return len(b.Secrets) > 0 }},
	{"additional_contexts", func(b *types.BuildConfig) bool { return len(b.AdditionalContexts) > 0 }},
	{"platforms", func(b *types.BuildConfig) bool { return len(b.Platforms) > 0 }},
	{"tags", func(b *types.BuildConfig) bool { return len(b.Tags) > 0 }},
	{"network", func(b *types.BuildConfig) bool { return b.Network != "" }},
	{"extra_hosts", func(b *types.BuildConfig) bool { return len(b.ExtraHosts) > 0 }},
	{"isolation", func(b *types.BuildConfig) bool { return b.Isolation != "" }},
	{"privileged", func(b *types.BuildConfig) bool { return b.Privileged }},
	{"entitlements", func(b *types.BuildConfig) bool { return len(b.Entitlements) > 0 }},
	{"shm_size", func(b *types.BuildConfig) bool { return b.ShmSize != 0 }},
	{"ulimits", func(b *types.BuildConfig) bool { return len(b.Ulimits) > 0 }},
}

// buildIgnored are the build keys Wharf accepts and ignores, saying so:
// they tune caching or metadata, not what the image runs.
var buildIgnored = []struct {
	key string
	set func(b *types.BuildConfig) bool
}{
	{"labels", func(b *types.BuildConfig) bool { return len(b.Labels) > 0 }},
	{"cache_from", func(b *types.BuildConfig) bool { return len(b.CacheFrom) > 0 }},
	{"cache_to", func(b *types.BuildConfig) bool { return len(b.CacheTo) > 0 }},
	{"no_cache", func(b *types.BuildConfig) bool { return b.NoCache }},
	{"no_cache_filter", func(b *types.BuildConfig) bool { return len(b.NoCacheFilter) > 0 }},
	{"pull", func(b *types.BuildConfig) bool { return b.Pull }},
	{"provenance", func(b *types.BuildConfig) bool { return b.Provenance != "" }},
	{"sbom", func(b *types.BuildConfig) bool { return b.SBOM != "" }},
}

// build maps a service's build: section. A context must be a local
// directory holding the Dockerfile; what Wharf cannot build is an error
// placed at its line.
func (m *mapper) build(svc *Service, sc types.ServiceConfig) {
	bc := sc.Build
	if bc == nil {
		return
	}
	p := "services." + svc.Name + ".build"
	for _, k := range buildRefused {
		if k.set(bc) {
			m.errorf(p+"."+k.key, "is not supported by Wharf's build (it supports context, dockerfile, args and target); remove it, or build and push the image yourself and name it in image:")
		}
	}
	for _, k := range buildIgnored {
		if k.set(bc) {
			m.w.at(p+"."+k.key, msgUnsupported)
		}
	}
	ctxPath := bc.Context
	if ctxPath == "" {
		ctxPath = m.wd
	}
	if strings.Contains(ctxPath, "://") || strings.HasPrefix(ctxPath, "git@") || !filepath.IsAbs(ctxPath) {
		m.errorf(p+".context", "%q is not a local directory: Wharf builds only from a directory of this machine", bc.Context)
		return
	}
	if fi, err := os.Stat(ctxPath); err != nil || !fi.IsDir() {
		m.errorf(p+".context", "%s is not a directory", display(m.wd, ctxPath))
		return
	}
	b := &Build{Context: ctxPath, Dockerfile: bc.Dockerfile, Target: bc.Target, Image: sc.Image}
	if b.Dockerfile == "" {
		b.Dockerfile = "Dockerfile"
	}
	df := b.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(ctxPath, df)
	}
	if fi, err := os.Stat(df); err != nil || !fi.Mode().IsRegular() {
		m.errorf(p+".dockerfile", "no Dockerfile at %s", display(m.wd, df))
		return
	}
	for _, k := range sortedKeys(bc.Args) {
		v := bc.Args[k]
		if v == nil {
			// Compose takes it from the environment of interpolation.
			if env, ok := m.env[k]; ok {
				v = &env
			} else {
				m.w.at(p+".args", "argument "+k+" has no value; left to the Dockerfile's default")
				continue
			}
		}
		if b.Args == nil {
			b.Args = map[string]string{}
		}
		b.Args[k] = *v
	}
	svc.Build = b
}
