package apiserver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// The raw list path must answer exactly what decoding each object would.
func TestRawListMatchesObjects(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.createService(n, 2)
	}
	var page api.List[api.Service]
	e.call(http.MethodGet, "/v1/services?limit=2", "", http.StatusOK, &page)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("page = %d items, next %q", len(page.Items), page.Next)
	}
	var rest api.List[api.Service]
	e.call(http.MethodGet, "/v1/services?limit=2&cursor="+page.Next, "", http.StatusOK, &rest)
	if len(rest.Items) != 1 || rest.Next != "" {
		t.Fatalf("second page = %d items, next %q", len(rest.Items), rest.Next)
	}
	for _, listed := range append(page.Items, rest.Items...) {
		var one api.Service
		e.call(http.MethodGet, "/v1/services/"+listed.ID, "", http.StatusOK, &one)
		if one.Revision == 0 || !reflect.DeepEqual(one, listed) {
			t.Fatalf("listed %+v\n got one %+v", listed, one)
		}
	}
	var empty api.List[api.Node]
	e.call(http.MethodGet, "/v1/nodes", "", http.StatusOK, &empty)
	if empty.Items == nil || len(empty.Items) != 0 {
		t.Fatalf("an empty list must be [] not null: %+v", empty)
	}
}

// A raw page over gzipMin goes gzip-compressed to a client that accepts
// it, and is the same page once decompressed; a client that does not
// accept gzip gets it plain.
func TestRawListGzip(t *testing.T) {
	e := newEnv(t)
	for i := range 12 {
		e.createService(fmt.Sprintf("s%02d", i), 1)
	}
	get := func(accept string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/services?limit=100", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.admin)
		// Set by hand, the header keeps Go's transport from
		// decompressing on its own.
		req.Header.Set("Accept-Encoding", accept)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
			t.Fatalf("%s: %d %v", accept, resp.StatusCode, resp.Header)
		}
		return resp, b
	}
	plainResp, plain := get("identity")
	if plainResp.Header.Get("Content-Encoding") != "" || len(plain) <= gzipMin {
		t.Fatalf("plain: %v, %d bytes", plainResp.Header, len(plain))
	}
	var page api.List[api.Service]
	if err := json.Unmarshal(plain, &page); err != nil || len(page.Items) != 12 {
		t.Fatalf("plain page: %d items, %v", len(page.Items), err)
	}
	for _, accept := range []string{"gzip", "deflate, gzip;q=0.5", "*"} {
		resp, b := get(accept)
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%q: not compressed: %v", accept, resp.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		un, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(un, plain) {
			t.Fatalf("%q: decompressed page differs (%v)", accept, err)
		}
	}
	for _, accept := range []string{"gzip;q=0", "deflate", "br, gzip ; q=0"} {
		if resp, b := get(accept); resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(b, plain) {
			t.Fatalf("%q: got %v", accept, resp.Header)
		}
	}
}

// A gzip writer kept from an earlier page compresses each page alone:
// nothing of an earlier page leaks into a later one, also when pages are
// compressed at once.
func TestGzippedReusesWritersCleanly(t *testing.T) {
	pages := make([][]byte, 8)
	for i := range pages {
		pages[i] = bytes.Repeat([]byte(fmt.Sprintf(`{"id":"s%02d","n":%d},`, i, i*i)), 200+i*50)
	}
	check := func(p []byte) error {
		z, err := gzipped(p)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			return err
		}
		un, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		if !bytes.Equal(un, p) {
			return fmt.Errorf("a page of %d bytes came back as %d bytes", len(p), len(un))
		}
		return nil
	}
	for range 3 {
		for _, p := range pages {
			if err := check(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	errs := make(chan error, len(pages))
	for _, p := range pages {
		go func() { errs <- check(p) }()
	}
	for range pages {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkGzipped is the cost of compressing one 40 KB page of a list.
func BenchmarkGzipped(b *testing.B) {
	page := bytes.Repeat([]byte(`{"id":"0123456789abcdef0123","name":"web-1","state":"Running"},`), 640)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gzipped(page); err != nil {
			b.Fatal(err)
		}
	}
}
