package gateway

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/records"
	"github.com/wharfhq/wharf/internal/store"
)

// secretReadTimeout bounds reading and opening the secrets of one push.
const secretReadTimeout = 5 * time.Second

// maxPushSecretBytes bounds the secret values of one push (12 MiB, 16 MiB
// in base64), well under what an agent accepts in one body (32 MiB): a
// node whose containers use more secrets than that still gets its
// assignments, and only the containers past the budget go without theirs
// (the agent does not start them, saying so). A variable for tests.
var maxPushSecretBytes = 12 << 20

// openedSecret is a secret's value as of one push.
type openedSecret struct {
	data    []byte
	version string
	err     error
}

// attachSecrets puts into asg, the set pushed to node, the secret files
// of its containers that use secrets and should run. Only the containers
// in asg (those assigned to node) are looked at, so a node receives only
// the secrets its own containers use. A secret that cannot be read or
// opened is left out and logged (by name, never its value); the agent
// then refuses to start that container, saying which file is missing.
func (g *Gateway) attachSecrets(asg *api.Assignments, node string) {
	var opened map[string]openedSecret // by organization and name, for this push only
	budget := maxPushSecretBytes
	ctx, cancel := context.WithTimeout(context.Background(), secretReadTimeout)
	defer cancel()
	for _, c := range asg.Containers {
		if len(c.Spec.Secrets) == 0 || c.Spec.Desired != api.ContainerRunning {
			continue
		}
		if opened == nil {
			opened = map[string]openedSecret{}
		}
		files := make([]api.SecretFile, 0, len(c.Spec.Secrets))
		for _, ref := range c.Spec.Secrets {
			key := c.Org + "/" + ref.Source
			o, ok := opened[key]
			if !ok {
				o = g.openSecret(ctx, c.Org, ref.Source)
				opened[key] = o
				if o.err != nil {
					g.log.Warn("cannot send a secret to a node; its containers that use it cannot start",
						"node", node, "secret", ref.Source, "err", o.err)
				}
			}
			if o.err != nil {
				continue
			}
			files = append(files, api.SecretFile{Target: ref.FileName(), Mode: ref.FileMode(), Data: o.data, Version: o.version})
		}
		size := 0
		for _, f := range files {
			size += len(f.Data)
		}
		if size > budget {
			g.log.Warn("a node's containers use more secrets than one push carries; this container gets none and does not start",
				"node", node, "container", c.ID, "bytes", size, "budget_left", budget)
			files = nil
		} else {
			budget -= size
		}
		if asg.Secrets == nil {
			asg.Secrets = map[string][]api.SecretFile{}
		}
		asg.Secrets[c.ID] = files
	}
}

// openSecret reads the secret named name of organization org (the
// container's: a container never gets another organization's secret) and
// opens its value.
func (g *Gateway) openSecret(ctx context.Context, org, name string) openedSecret {
	if g.cfg.Sealer == nil {
		return openedSecret{err: fmt.Errorf("this gateway has no data key to open secrets")}
	}
	var idx struct{ api.Meta }
	if err := g.store.Get(ctx, store.KindNames, records.SecretNameKey(org, name), &idx); err != nil {
		return openedSecret{err: fmt.Errorf("secret %s: %w", name, err)}
	}
	var s records.Secret
	if err := g.store.Get(ctx, store.KindSecrets, idx.Name, &s); err != nil {
		return openedSecret{err: fmt.Errorf("secret %s: %w", name, err)}
	}
	data, err := g.cfg.Sealer.Open(records.SealPurpose(s.Org, s.Name), s.Sealed)
	if err != nil {
		return openedSecret{err: err}
	}
	return openedSecret{data: data, version: s.ID + "." + strconv.FormatInt(s.Version, 10)}
}
