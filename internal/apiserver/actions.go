package apiserver

import (
	"cmp"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// Action results.
const (
	resultSuccess = "Success"
	resultFailed  = "Failed"
)

// maxActionField bounds the path, object and error an action keeps: they
// echo what the client sent, and a bad request must not make the server
// store (and keep in etcd's memory) up to a request body's worth of audit.
const maxActionField = 1024

// clipAction cuts s to at most maxActionField bytes, on a rune boundary, saying
// how much was cut.
func clipAction(s string) string {
	if len(s) <= maxActionField {
		return s
	}
	return strings.ToValidUTF8(s[:maxActionField], "") + "... (" + strconv.Itoa(len(s)-maxActionField) + " more bytes)"
}

// recordAction writes the audit record of a mutating call once its handler
// has finished. Its ID sorts by time, so lists come oldest first.
func (s *Server) recordAction(r *http.Request, sw *statusWriter, info *reqInfo, start time.Time) {
	if sw.code() == http.StatusTooManyRequests {
		return // a throttled guesser: its first failures are recorded, not the flood
	}
	a := api.Action{
		Meta:     api.Meta{ID: newTimeID()},
		Who:      info.who,
		Method:   r.Method,
		Path:     clipAction(r.URL.Path),
		Kind:     info.kind,
		Object:   clipAction(cmp.Or(info.note.Object, info.object)),
		Status:   sw.code(),
		Result:   resultSuccess,
		Started:  start.UTC(),
		Duration: time.Since(start).Seconds(),
	}
	if a.Status >= 400 {
		a.Result, a.Error = resultFailed, clipAction(info.err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	t := s.st.Txn()
	t.CreateExpiring(store.KindActions, &a)
	if err := t.Commit(ctx); err != nil {
		s.log.Warn("cannot record action", "method", a.Method, "path", a.Path, "who", a.Who, "err", err)
	}
}

// listActions serves GET /v1/actions: oldest first, paged.
func (s *Server) listActions(w http.ResponseWriter, r *http.Request) error {
	return listHandler[api.Action](s, store.KindActions, nil)(w, r)
}
