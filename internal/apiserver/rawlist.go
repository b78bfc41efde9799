package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/store"
)

// writeRawList serves a page of a kind that needs no filtering or
// stripping straight from the stored JSON, adding each object's revision,
// instead of decoding and re-encoding every object. The answer is the same
// api.List a decoded page would make.
func writeRawList(ctx context.Context, w http.ResponseWriter, st *store.Store, kind string, p page) error {
	res, err := st.List(ctx, kind, store.ListOptions{After: p.after, Limit: p.limit + 1})
	if err != nil {
		return err
	}
	items := res.Items
	next := ""
	if len(items) > p.limit {
		items = items[:p.limit]
		next = items[len(items)-1].ID
	}
	return writeRawPage(w, kind, domain.RawPage{Items: items, Next: next})
}

// writeRawPage serves a page of a kind as the store holds it (see
// writeRawList).
func writeRawPage(w http.ResponseWriter, kind string, rp domain.RawPage) error {
	items, next := rp.Items, rp.Next
	size := 32
	for _, it := range items {
		size += len(it.Value) + 32
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"items":[`)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		v := bytes.TrimSpace(it.Value)
		if len(v) < 2 || v[0] != '{' {
			return fmt.Errorf("stored %s %s is not a JSON object", kind, it.ID)
		}
		b.WriteString(`{"revision":`)
		b.WriteString(strconv.FormatInt(it.Revision, 10))
		if len(bytes.TrimSpace(v[1:len(v)-1])) > 0 {
			b.WriteByte(',')
		}
		b.Write(v[1:])
	}
	b.WriteByte(']')
	if next != "" {
		b.WriteString(`,"next":`)
		q, _ := json.Marshal(next)
		b.Write(q)
	}
	b.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}
