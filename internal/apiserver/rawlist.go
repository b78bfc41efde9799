package apiserver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/domain"
)

// writeRawPage writes a page of a kind from the stored JSON, adding each
// object's revision, instead of decoding and re-encoding every object. The
// answer is the same api.List a decoded page would make. A page the domain
// layer serves again from its cache is encoded once (see
// domain.RawPage.Encoded). A page of more than gzipMin bytes goes
// gzip-compressed to a client that accepts it (Go's HTTP client asks for
// it and decompresses on its own): a tenth of the bytes to encrypt, send
// and read, so the handler is not held writing a page its client has not
// read yet.
func writeRawPage(w http.ResponseWriter, r *http.Request, kind string, p domain.RawPage) error {
	b, err := p.Encoded("json", func(p domain.RawPage) ([]byte, error) { return encodeRawPage(kind, p) })
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if len(b) > gzipMin {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			b, err = p.Encoded("json+gzip", func(domain.RawPage) ([]byte, error) { return gzipped(b) })
			if err != nil {
				return err
			}
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// gzipMin is the smallest answer worth compressing: more than one
// Ethernet frame's payload.
const gzipMin = 1400

// gzipWriters keeps up to two gzip writers between pages: a new writer's
// compressor allocates about 1.2 MB of tables and windows, more than most
// pages it compresses, and a dashboard polling a list of changing objects
// compresses a page each time. A sync.Pool would drop them at every other
// collection, which under load comes more often than the polls.
var gzipWriters = make(chan *gzip.Writer, 2)

// gzipped is b gzip-compressed at the fastest level (JSON pages shrink
// about tenfold even so).
func gzipped(b []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b) / 8)
	var zw *gzip.Writer
	select {
	case zw = <-gzipWriters:
		zw.Reset(&out)
	default:
		var err error
		if zw, err = gzip.NewWriterLevel(&out, gzip.BestSpeed); err != nil {
			return nil, err
		}
	}
	_, err := zw.Write(b)
	if err == nil {
		err = zw.Close()
	}
	zw.Reset(io.Discard) // what is kept holds no reference to out
	select {
	case gzipWriters <- zw:
	default:
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// acceptsGzip reports whether Accept-Encoding values vs accept gzip: a
// "gzip" (or "x-gzip") coding, or "*", whose quality is not 0.
func acceptsGzip(vs []string) bool {
	for _, v := range vs {
		for _, c := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(c, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "x-gzip" && name != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q="); ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// encodeRawPage is the JSON of an api.List of page p of kind.
func encodeRawPage(kind string, p domain.RawPage) ([]byte, error) {
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
			return nil, fmt.Errorf("stored %s %s is not a JSON object", kind, it.ID)
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
	return b.Bytes(), nil
}
