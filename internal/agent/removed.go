package agent

import (
	"context"
	"errors"
	"time"

	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/runtime"
)

// errNodeRemoved is what the gateway's api.CodeNodeRemoved answer becomes
// (an errdefs.ErrNodeRemoved kind).
var errNodeRemoved = errdefs.New(errdefs.ErrNodeRemoved, "this node has been removed from the cluster")

// removeAll stops and removes every container the drivers list: the node
// is no longer part of the cluster, so nothing it ran may stay behind.
func (a *Agent) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout+30*time.Second)
	defer cancel()
	a.log.Error("this node was removed from the cluster: stopping and removing all its containers")
	n := 0
	for _, d := range a.cfg.Drivers {
		list, err := d.List(ctx)
		if err != nil {
			a.log.Error("cannot list containers to remove", "driver", d.Name(), "err", err)
			continue
		}
		for _, st := range list {
			if st.State == runtime.StateRunning {
				if err := d.Stop(ctx, st.ID, stopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
					a.log.Error("cannot stop container of the removed node", "driver", d.Name(), "id", st.ID, "err", err)
				}
			}
			if err := d.Remove(ctx, st.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				a.log.Error("cannot remove container of the removed node", "driver", d.Name(), "id", st.ID, "err", err)
				continue
			}
			n++
		}
	}
	a.log.Error("containers of the removed node removed", "count", n)
}
