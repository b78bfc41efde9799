// Package compose reads Compose files (compose.yml, with overrides, .env,
// profiles, extends and anchors, as parsed by compose-go) and tells the
// stack Wharf would create from them: one complete api.ServiceSpec per
// service (health checks, update configs, dependencies, links, volumes,
// labels and networks included), and a warning, placed at its file and
// line, for every part of the files Wharf does not support or changes.
// Stack.StackSpec is what `wharf stack deploy` sends to the server. Docker Cloud's stackfile keys
// are accepted in an x-wharf extension on a service. LoadUntrusted
// (untrusted.go) is the load the server does of one file's text that a
// remote user sent: it reads nothing else, neither the environment nor a
// file.
package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wharfhq/wharf/api"
)

// Options say which files to load and how.
type Options struct {
	// Files are merged in order, as several -f in Compose. Empty: the
	// default compose file of WorkingDir.
	Files []string
	// WorkingDir defaults to the directory of the first file.
	WorkingDir string
	// Env are extra variables for interpolation; they win over the
	// process's environment, which wins over the .env of WorkingDir.
	Env      map[string]string
	Profiles []string
	// EnvFiles replace the .env of WorkingDir as the files of variables
	// for interpolation (--env-file); relative paths are from the
	// current directory.
	EnvFiles []string
	// Strict makes every warning an error.
	Strict      bool
	ProjectName string
}

// Stack is what Wharf would create.
type Stack struct {
	// Name is the project's: the files' top-level name, else
	// Options.ProjectName, else the working dir's base name.
	Name string `json:"name"`
	// Named: a file gives the name (top-level name:).
	Named    bool      `json:"-"`
	Services []Service `json:"services"` // sorted by name
	// Secrets are the top-level secrets (sorted by name): `stack deploy`
	// creates the missing ones before it deploys (see NameSecrets).
	Secrets  []Secret  `json:"secrets,omitempty"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// Service is one service of the stack, named as in the compose file,
// with the complete spec Wharf would run it with.
type Service struct {
	Name string          `json:"name"`
	Spec api.ServiceSpec `json:"spec"`
	// Build is the service's build: section (nil when none): `stack
	// deploy` builds and pushes the image, then sets Spec.Image to it.
	Build *Build `json:"build,omitempty"`
}

// defaultFiles are looked for in WorkingDir when Options.Files is empty.
var defaultFiles = []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// Load reads the compose files of o and maps them to a Stack.
func Load(ctx context.Context, o Options) (*Stack, error) {
	files, wd, err := o.paths()
	if err != nil {
		return nil, err
	}
	srcs := make([]*source, len(files))
	w := &warner{ix: index{}, order: map[string]int{}, wd: wd}
	for i, f := range files {
		if srcs[i], err = readSource(f, display(wd, f)); err != nil {
			return nil, err
		}
		w.order[srcs[i].display] = i
		if srcs[i].root != nil {
			w.ix.add(srcs[i].display, "", srcs[i].root, 0)
		}
	}

	envFiles := make([]string, 0, len(o.EnvFiles))
	for _, f := range o.EnvFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("env file: %w", err)
		}
		envFiles = append(envFiles, abs)
	}
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(wd),
		cli.WithEnv(envList(o.Env)),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(o.Profiles),
		cli.WithName(o.ProjectName),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		// compose-go wants an image or a build on every service; Wharf runs
		// exec services without one (and builds build: ones, see build.go),
		// and checks references itself.
		cli.WithConsistency(false),
	)
	if err != nil {
		return nil, placeError(srcs, err, wd)
	}
	var project *types.Project
	logs := captureLogs(func() { project, err = opts.LoadProject(ctx) })
	w.logWarnings(srcs, logs)
	if err != nil {
		return nil, placeError(srcs, err, wd)
	}

	return w.stack(srcs, project, wd, o.Strict, false)
}

// stack maps a loaded project to the Stack, with the warnings of the
// keys Wharf does not map. untrusted: the text came from a remote user
// (see LoadUntrusted), so a relative bind mount is refused and no other
// file is read for the warnings.
func (w *warner) stack(srcs []*source, project *types.Project, wd string, strict, untrusted bool) (*Stack, error) {
	skip := map[string]bool{}
	for name := range project.DisabledServices {
		skip[name] = true
	}
	for _, s := range srcs {
		w.checkKeys(s, skip)
	}
	m := &mapper{w: w, wd: wd, env: project.Environment, untrusted: untrusted}
	m.references(project)
	st := &Stack{Name: project.Name, Secrets: m.secrets(project)}
	defined := make(map[string]bool, len(st.Secrets))
	for _, s := range st.Secrets {
		defined[s.Name] = true
	}
	for _, s := range srcs {
		if lookup(s.root, "name") != nil {
			st.Named = true
		}
	}
	links := map[string][]string{} // service -> the services it links to
	for _, name := range sortedKeys(project.Services) {
		sc := project.Services[name]
		sc.Name = name
		svc := m.service(sc)
		m.serviceSecrets(&svc, sc.Secrets, defined)
		st.Services = append(st.Services, svc)
		for _, l := range sc.Links {
			target, _, _ := strings.Cut(l, ":")
			links[name] = append(links[name], target)
		}
	}
	m.replaceProxies(st, links)
	m.checkRoutes(st)
	if len(m.errs) > 0 {
		return nil, errors.Join(m.errs...)
	}
	st.Warnings = w.sorted()
	if strict && len(st.Warnings) > 0 {
		return nil, w.err()
	}
	return st, nil
}

// paths returns the absolute files to load and the working dir.
func (o Options) paths() ([]string, string, error) {
	wd := o.WorkingDir
	files := make([]string, 0, len(o.Files))
	for _, f := range o.Files {
		if wd != "" && !filepath.IsAbs(f) {
			if _, err := os.Stat(f); err != nil {
				f = filepath.Join(wd, f)
			}
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, "", err
		}
		files = append(files, abs)
	}
	if wd == "" && len(files) > 0 {
		wd = filepath.Dir(files[0])
	}
	wd, err := filepath.Abs(wd)
	if err != nil {
		return nil, "", err
	}
	if len(files) == 0 {
		for _, name := range defaultFiles {
			if _, err := os.Stat(filepath.Join(wd, name)); err == nil {
				files = append(files, filepath.Join(wd, name))
				break
			}
		}
		if len(files) == 0 {
			return nil, "", fmt.Errorf("no compose file in %s (looked for %s)", wd, strings.Join(defaultFiles, ", "))
		}
	}
	return files, wd, nil
}

// display is f relative to wd when it is inside it.
func display(wd, f string) string {
	if rel, err := filepath.Rel(wd, f); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return f
}

func envList(env map[string]string) []string {
	l := make([]string, 0, len(env))
	for _, k := range sortedKeys(env) {
		l = append(l, k+"="+env[k])
	}
	return l
}

var (
	requiredRE    = regexp.MustCompile(`required variable (\S+) is missing a value`)
	falseSchemaRE = regexp.MustCompile(`(\S+) false schema`)
	pathRE        = regexp.MustCompile(`\b(services(?:\.[A-Za-z0-9_.-]+)?)\b`)
)

// placeError makes compose-go's error start with the file (and line, when
// it can be found) that caused it.
func placeError(srcs []*source, err error, wd string) error {
	msg := err.Error()
	for _, s := range srcs {
		msg = strings.ReplaceAll(msg, s.path, s.display)
	}
	msg = strings.ReplaceAll(msg, wd+string(filepath.Separator), "")
	// The schema's words for a key it does not know.
	for _, s := range srcs {
		msg = strings.TrimPrefix(msg, "validating "+s.display+": ") // placed again below
	}
	msg = falseSchemaRE.ReplaceAllString(msg, "$1: unknown key: it is not in the Compose specification (check its spelling; extensions start with x-)")
	for _, s := range srcs {
		if strings.HasPrefix(msg, s.display+":") {
			return errors.New(msg)
		}
	}
	var l loc
	if m := requiredRE.FindStringSubmatch(msg); m != nil {
		l = findVariable(srcs, m[1])
	}
	if l.file == "" && len(srcs) > 0 {
		ix := index{}
		for _, s := range srcs {
			if s.root != nil {
				ix.add(s.display, "", s.root, 0)
			}
		}
		if m := pathRE.FindString(msg); m != "" {
			l = ix.at(strings.TrimRight(m, "."))
		}
		if l.file == "" {
			l.file = srcs[0].display
		}
	}
	if l.line > 0 {
		return fmt.Errorf("%s:%d: %s", l.file, l.line, msg)
	}
	return fmt.Errorf("%s: %s", l.file, msg)
}
