package domain

// A stack deploy from the text of a compose file that a remote user sent
// (the dashboard's "Deploy a stack" form). The file is loaded with
// compose.LoadUntrusted, which reads nothing of the server's (no
// environment, no file); the stack it gives is deployed by DeployStack,
// the operation `wharf stack deploy` and PUT /v1/stacks/{name} use.

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/compose"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// ComposeDeploy is the answer of DeployComposeText: the deploy's (or, for
// a dry run, the plan's) result and the file's warnings, placed at their
// lines.
type ComposeDeploy struct {
	Name     string
	Result   api.DeployStackResult
	Warnings []compose.Warning
}

// DeployComposeText deploys, or with dryRun plans, the stack named name
// (empty: the file's top-level name:) from data, the text of a compose
// file called file, interpolated with vars alone. The secrets the file
// declares must exist already (external: true): nothing is read from a
// file or the server's environment to create them. It refuses an actor
// without Apps Write before reading the file, then a file that would read
// anything of the server's (see compose.LoadUntrusted), and whatever
// DeployStack refuses.
func (d *Domain) DeployComposeText(ctx context.Context, a Actor, name, file string, data []byte, vars map[string]string, dryRun bool) (ComposeDeploy, error) {
	if err := a.need(AppsDeploy); err != nil {
		return ComposeDeploy{}, err
	}
	name = strings.TrimSpace(name)
	st, err := compose.LoadUntrusted(ctx, file, name, data, vars)
	if err != nil {
		return ComposeDeploy{}, errdefs.Invalid("compose", "%v", err)
	}
	if name == "" {
		if !st.Named || st.Name == "" {
			return ComposeDeploy{}, errdefs.Invalid("name", "give the stack a name (or a top-level name: in the compose file)")
		}
		name = st.Name
	}
	st.NameSecrets(name)
	spec := st.StackSpec()
	for i := range spec.Services {
		ss := &spec.Services[i]
		if err := d.CheckSecretRefs(ctx, a, &ss.Spec, "compose.services."+ss.Name); err != nil {
			return ComposeDeploy{}, err
		}
	}
	res, err := d.DeployStack(ctx, a, name, spec, dryRun)
	if err != nil {
		return ComposeDeploy{}, err
	}
	return ComposeDeploy{Name: name, Result: res, Warnings: st.Warnings}, nil
}
