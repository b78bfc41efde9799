package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// defaultOrg is the organization of objects with no Org (domain.DefaultOrg).
const defaultOrg = "default"

// registryAuthReadTimeout bounds reading and opening the registry
// credentials of one push.
const registryAuthReadTimeout = 5 * time.Second

// attachRegistryAuths puts into asg, the set pushed to node, the
// credentials of the registries that node pulls from: the hosts of the
// images of its containers that should run, each with the credential of
// that container's organization (records.RegistryAuth), or the built-in
// registry's node credential (Config.BuiltinRegistryAuth) for its host.
// A node gets no credential for a registry none of its running containers
// uses. Two organizations with credentials for one host on one node: the
// one whose container comes first (by ID) wins, and it is logged; the
// other's pulls then use a credential that may not fit (a limit of the
// engine, which keys credentials by host).
func (g *Gateway) attachRegistryAuths(asg *api.Assignments, node string) {
	ctx, cancel := context.WithTimeout(context.Background(), registryAuthReadTimeout)
	defer cancel()
	var builtinHost string
	var builtinAuth api.RegistryAuth
	builtinDone := false
	owner := map[string]string{} // host -> org whose credential asg carries
	for _, c := range asg.Containers {
		if c.Spec.Image == "" || c.Spec.Desired != api.ContainerRunning || c.Spec.PullPolicy == api.PullNever {
			continue
		}
		host := api.RegistryHost(c.Spec.Image)
		if _, done := owner[host]; done {
			if o := cmp.Or(c.Org, defaultOrg); owner[host] != o && owner[host] != "" {
				g.log.Warn("containers of two organizations on one node pull from one registry; the node gets one credential for it",
					"node", node, "registry", host, "used", owner[host], "other", c.Org)
			}
			continue
		}
		if !builtinDone {
			builtinDone = true
			if f := g.cfg.BuiltinRegistryAuth; f != nil {
				var n api.Node
				if err := g.store.Get(ctx, store.KindNodes, node, &n); err == nil {
					if h, a, ok := f(ctx, n); ok {
						builtinHost, builtinAuth = api.NormalizeRegistryHost(h), a
					}
				}
			}
		}
		if builtinHost != "" && host == builtinHost {
			owner[host] = ""
			if asg.RegistryAuths == nil {
				asg.RegistryAuths = map[string]api.RegistryAuth{}
			}
			asg.RegistryAuths[host] = builtinAuth
			continue
		}
		org := c.Org
		if org == "" {
			org = defaultOrg
		}
		owner[host] = org
		auth, ok, err := g.openRegistryAuth(ctx, org, host)
		if err != nil {
			g.log.Warn("cannot send a registry credential to a node; its containers pull without it",
				"node", node, "registry", host, "org", c.Org, "err", err)
			continue
		}
		if !ok {
			continue
		}
		if asg.RegistryAuths == nil {
			asg.RegistryAuths = map[string]api.RegistryAuth{}
		}
		asg.RegistryAuths[host] = auth
	}
}

// openRegistryAuth reads and opens organization org's credential for
// host; ok is false when it has none.
func (g *Gateway) openRegistryAuth(ctx context.Context, org, host string) (api.RegistryAuth, bool, error) {
	var r records.RegistryAuth
	if err := g.store.Get(ctx, store.KindRegistryAuths, records.RegistryAuthID(org, host), &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.RegistryAuth{}, false, nil
		}
		return api.RegistryAuth{}, false, err
	}
	if g.cfg.Sealer == nil {
		return api.RegistryAuth{}, false, fmt.Errorf("this gateway has no data key to open registry credentials")
	}
	pw, err := g.cfg.Sealer.Open(records.RegistryAuthPurpose(org, host), r.Sealed)
	if err != nil {
		return api.RegistryAuth{}, false, err
	}
	return api.RegistryAuth{Username: r.Username, Password: string(pw)}, true, nil
}
