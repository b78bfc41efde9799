package compose

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wharfhq/wharf/api"
)

// Secret is a top-level secret of the compose files. Its value is read on
// the client, from File (relative paths are from the compose file) or
// from the variable Environment, by Value; it is never in the Stack's
// JSON. An External secret exists in Wharf already, named ExternalName.
type Secret struct {
	Name         string `json:"name"`
	File         string `json:"file,omitempty"`
	Environment  string `json:"environment,omitempty"`
	External     bool   `json:"external,omitempty"`
	ExternalName string `json:"external_name,omitempty"`
	// WharfName is the secret's name in Wharf, set by NameSecrets.
	WharfName string `json:"wharf_name,omitempty"`

	value    []byte // the content compose-go or the environment gave
	hasValue bool
}

// Value reads the secret's value: the environment variable's (as it was
// when the files were loaded) or the file's.
func (s Secret) Value() ([]byte, error) {
	switch {
	case s.External:
		return nil, fmt.Errorf("secret %s is external: it is not read here", s.Name)
	case s.hasValue:
		return s.value, nil
	case s.Environment != "":
		return nil, fmt.Errorf("secret %s: environment variable %s is not set", s.Name, s.Environment)
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("secret %s has no file: or environment: source", s.Name)
}

// NameSecrets gives each secret its name in Wharf for the stack named
// stack, "<stack>_<name>" as docker stack names them (an external one
// keeps its own), and points the services' secret refs at those names.
func (s *Stack) NameSecrets(stack string) {
	names := make(map[string]string, len(s.Secrets))
	for i := range s.Secrets {
		sec := &s.Secrets[i]
		sec.WharfName = stack + "_" + sec.Name
		if sec.External {
			sec.WharfName = sec.ExternalName
		}
		names[sec.Name] = sec.WharfName
	}
	for i := range s.Services {
		refs := s.Services[i].Spec.Secrets
		for j := range refs {
			if n, ok := names[refs[j].Source]; ok {
				if refs[j].Target == "" {
					refs[j].Target = refs[j].Source // the file keeps the compose name
				}
				refs[j].Source = n
			}
		}
	}
}

// secrets maps the top-level secrets.
func (m *mapper) secrets(p *types.Project) []Secret {
	var out []Secret
	for _, name := range sortedKeys(p.Secrets) {
		sc := p.Secrets[name]
		s := Secret{Name: name, File: sc.File, Environment: sc.Environment, External: bool(sc.External)}
		path := "secrets." + name
		switch {
		case s.External:
			s.ExternalName = name
			if sc.Name != "" {
				s.ExternalName = sc.Name
			}
		case sc.Environment != "":
			if v, ok := p.Environment[sc.Environment]; ok {
				s.value, s.hasValue = []byte(v), true
			} else if sc.Content != "" {
				s.value, s.hasValue = []byte(sc.Content), true
			}
		case sc.Content != "":
			s.value, s.hasValue = []byte(sc.Content), true
		case sc.File == "":
			m.errorf(path, "needs file:, environment: or external: true")
		}
		if sc.Driver != "" || sc.TemplateDriver != "" {
			m.w.at(path, "driver and template_driver are not supported by Wharf; ignored")
		}
		out = append(out, s)
	}
	return out
}

// serviceSecrets maps a service's secrets: the file is
// /run/secrets/<target> (docker driver), so a target is a file name or a
// path under /run/secrets; uid and gid are not supported.
func (m *mapper) serviceSecrets(svc *Service, refs []types.ServiceSecretConfig, defined map[string]bool) {
	p := "services." + svc.Name + ".secrets"
	for _, r := range refs {
		if !defined[r.Source] {
			m.errorf(p, "secret %q is not defined under the top-level secrets:", r.Source)
			continue
		}
		ref := api.SecretRef{Source: r.Source, Target: r.Target}
		if t, ok := strings.CutPrefix(ref.Target, "/run/secrets/"); ok {
			ref.Target = t
		}
		if path.IsAbs(ref.Target) || strings.Contains(ref.Target, "/") {
			m.errorf(p, "secret %s: target %q: Wharf mounts secrets as files in /run/secrets; give a file name", r.Source, r.Target)
			continue
		}
		if r.UID != "" || r.GID != "" {
			m.w.in(p, r.Source, "uid and gid are not supported by Wharf (files belong to root; use mode 0444 for another user); ignored")
		}
		if r.Mode != nil {
			ref.Mode = uint32(*r.Mode)
		}
		svc.Spec.Secrets = append(svc.Spec.Secrets, ref)
	}
}
