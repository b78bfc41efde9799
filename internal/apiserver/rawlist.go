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
// stripping straight from the store (see writeRawPage).
func writeRawList(ctx context.Context, w http.ResponseWriter, st *store.Store, kind string, p page) error {
	res, err := st.List(ctx, kind, store.ListOptions{After: p.after, Limit: p.limit + 1})
	if err != nil {
		return err
	}
	rp := domain.RawPage{Items: res.Items}
	if len(rp.Items) > p.limit {
		rp.Items = rp.Items[:p.limit]
		rp.Next = rp.Items[len(rp.Items)-1].ID
	}
	return writeRawPage(w, kind, rp)
}

// writeRawPage writes a page of a kind from the stored JSON, adding each
// object's revision, instead of decoding and re-encoding every object. The
// answer is the same api.List a decoded page would make.
func writeRawPage(w http.ResponseWriter, kind string, p domain.RawPage) error {
	items, next := p.Items, p.Next
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
