package gateway

import (
	"net/http"
	"slices"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/store"
)

// maxOverlayPeers bounds an overlay report: a node relays to at most its
// organization's other nodes.
const maxOverlayPeers = 4096

// handleOverlay takes an agent's overlay report (the peers it relays to)
// into its node, for `wharf network inspect`. It writes only a change.
func (s *session) handleOverlay(w http.ResponseWriter, r *http.Request) {
	var rep api.OverlayReport
	if !decodeBody(w, r, &rep) {
		return
	}
	if len(rep.Relayed) > maxOverlayPeers {
		errhttp.Write(w, errdefs.Invalid("relayed", "at most %d peers, got %d", maxOverlayPeers, len(rep.Relayed)))
		return
	}
	for _, id := range rep.Relayed {
		if id == "" || len(id) > maxHelloText || !printable(id) {
			errhttp.Write(w, errdefs.Invalid("relayed", "%q is not a node ID", id))
			return
		}
	}
	relayed := slices.Clone(rep.Relayed)
	slices.Sort(relayed)
	relayed = slices.Compact(relayed)
	var n api.Node
	err := s.g.store.Modify(r.Context(), store.KindNodes, s.node, &n, func() ([]api.Event, error) {
		if slices.Equal(n.OverlayRelayed, relayed) {
			return nil, store.ErrNoChange
		}
		n.OverlayRelayed = relayed
		return nil, nil
	})
	if err != nil {
		s.log.Warn("overlay report not written", "err", err)
		errhttp.Write(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
