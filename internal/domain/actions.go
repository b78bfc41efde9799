package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// MaxActionField bounds the path, object and error an action keeps: they
// echo what the client sent, and a bad request must not make the server
// store (and keep in etcd's memory) up to a request body's worth of audit.
const MaxActionField = 1024

// ClipAction cuts s to at most MaxActionField bytes, on a rune boundary,
// saying how much was cut.
func ClipAction(s string) string {
	if len(s) <= MaxActionField {
		return s
	}
	return strings.ToValidUTF8(s[:MaxActionField], "") + "... (" + strconv.Itoa(len(s)-MaxActionField) + " more bytes)"
}

// RecordAction stores a front door's audit record of a call, with its path,
// object and error clipped to MaxActionField bytes (and a note of how much
// was cut). It gives the action an ID that sorts by time when it has none,
// so lists come oldest first; the record expires with the store's action
// lease. The front door decides which calls it records. The action
// belongs to the organization of by, who made the call (the zero actor of
// an unauthenticated call: the default organization).
func (d *Domain) RecordAction(ctx context.Context, by Actor, a api.Action) error {
	a.Org = by.orgOf()
	if a.ID == "" {
		a.ID = d.newTimeID()
	}
	a.Path = ClipAction(a.Path)
	a.Object = ClipAction(a.Object)
	a.Error = ClipAction(a.Error)
	t := d.st.Txn()
	t.CreateExpiring(store.KindActions, &a)
	return t.Commit(ctx)
}

// ListActions returns a page of the audit trail, oldest first as stored,
// or newest first with p.Reverse (an action's stored form is its wire
// form), only the actor's organization's actions. It refuses an actor without
// read access to apps, and a limit out of range.
func (d *Domain) ListActions(ctx context.Context, a Actor, p Page) (RawPage, error) {
	if err := a.need(AppsView); err != nil {
		return RawPage{}, err
	}
	return d.cachedRawPage(ctx, a, store.KindActions, p)
}

// newTimeID returns an ID that sorts by creation time: 16 hex digits of
// Unix nanoseconds and 4 random hex digits.
func (d *Domain) newTimeID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x%s", d.cfg.Now().UnixNano(), hex.EncodeToString(b[:]))
}
