package apiserver

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// Action results.
const (
	resultSuccess = "Success"
	resultFailed  = "Failed"
)

// maxActionField bounds the path, object and error an action keeps (the
// domain layer clips them).
const maxActionField = domain.MaxActionField

// recordAction writes the audit record of a mutating call once its handler
// has finished, through the domain layer, which owns the audit trail.
func (s *Server) recordAction(r *http.Request, sw *statusWriter, info *reqInfo, start time.Time) {
	if sw.code() == http.StatusTooManyRequests {
		return // a throttled guesser: its first failures are recorded, not the flood
	}
	a := api.Action{
		Who:      info.who,
		Method:   r.Method,
		Path:     r.URL.Path,
		Kind:     info.kind,
		Object:   cmp.Or(info.note.Object, info.object),
		Status:   sw.code(),
		Result:   resultSuccess,
		Started:  start.UTC(),
		Duration: time.Since(start).Seconds(),
	}
	if a.Status >= 400 {
		a.Result, a.Error = resultFailed, info.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.d.RecordAction(ctx, info.actor, a); err != nil {
		s.log.Warn("cannot record action", "method", a.Method, "path", domain.ClipAction(a.Path), "who", a.Who, "err", err)
	}
}

// listActions serves GET /v1/actions: oldest first, or newest first with
// ?order=newest, paged.
func (s *Server) listActions(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	dp := p.domain()
	switch o := r.URL.Query().Get("order"); o {
	case "", "oldest":
	case "newest":
		dp.Reverse = true
	default:
		return errdefs.Invalid("order", "%q: want oldest (the default) or newest", o)
	}
	rp, err := s.d.ListActions(r.Context(), actorOf(r), dp)
	if err != nil {
		return err
	}
	return writeRawPage(w, r, store.KindActions, rp)
}
