package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wharfhq/wharf/internal/domain"
)

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
