package router

// Tests of the fast path: backend connections kept and reused, the stale
// connection retry, bodies of every framing, streaming, hop-by-hop headers,
// trailers and a backend that fails mid-response.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/api"
)

// countedBackend is a test backend that counts the connections it
// accepted.
func countedBackend(t *testing.T, h http.HandlerFunc) (*testBackend, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	b := newBackendServerWith(t, "b", h, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
	})
	return b, &conns
}

// oneConnClient is a client that keeps one connection to the router.
func oneConnClient(t *testing.T) *http.Client {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func fastRouter(t *testing.T, b *testBackend) (*Router, string) {
	t.Helper()
	r := newTestRouter(t, Config{})
	mustApply(t, r, table(route("app", "*", "/", b)))
	return r, "http://" + r.HTTPAddr().String()
}

func TestFastPathReusesBackendConnections(t *testing.T) {
	b, conns := countedBackend(t, nil)
	r, base := fastRouter(t, b)
	c := oneConnClient(t)
	for range 20 {
		if status, body, _ := do(t, c, "GET", base+"/", "x", nil); status != 200 || body != "b" {
			t.Fatalf("got %d %q, want 200 from b", status, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the backend accepted %d connections for 20 sequential requests, want 1", n)
	}
	be := r.backends[b.Listener.Addr().String()]
	if n := be.active.Load(); n != 0 {
		t.Errorf("%d requests still counted on the backend after all ended, want 0 (leastconn relies on it)", n)
	}
	// The backend leaves the table: its idle connection is closed.
	other := newBackendServer(t, "other", nil)
	mustApply(t, r, table(route("app", "*", "/", other)))
	if n := be.idleConns(); n != 0 {
		t.Errorf("%d idle connections left to a backend no table names", n)
	}
}

func TestFastPathRetriesWhenBackendClosedIdleConnection(t *testing.T) {
	b, conns := countedBackend(t, nil)
	_, base := fastRouter(t, b)
	c := oneConnClient(t)
	if status, _, _ := do(t, c, "GET", base+"/", "x", nil); status != 200 {
		t.Fatalf("first GET: %d", status)
	}
	b.CloseClientConnections() // the backend drops the router's idle connection
	for i := range 3 {
		if status, body, _ := do(t, c, "GET", base+"/", "x", nil); status != 200 || body != "b" {
			t.Fatalf("GET %d after the backend closed the idle connection: %d %q, want 200 from b", i, status, body)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the backend accepted %d connections, want 2 (one replaced)", n)
	}
	// Requests that cannot be sent twice are not given the closed
	// connection either.
	for _, body := range []io.Reader{nil, strings.NewReader("a body")} {
		b.CloseClientConnections()
		if status, body, _ := do(t, c, "POST", base+"/", "x", body); status != 200 || body != "b" {
			t.Fatalf("POST after the backend closed the idle connection: %d %q, want 200 from b", status, body)
		}
	}
}

func TestFastPathBackendConnectionClose(t *testing.T) {
	b, conns := countedBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	})
	_, base := fastRouter(t, b)
	c := oneConnClient(t)
	for range 3 {
		req, _ := http.NewRequest("GET", base+"/", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "bye" || res.Close {
			t.Fatalf("got %q, close %v; want bye and the client's connection kept", body, res.Close)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("the backend accepted %d connections for 3 requests it closed, want 3", n)
	}
}

func TestFastPathChunkedBodiesAndTrailers(t *testing.T) {
	var gotTE atomic.Value
	b, _ := countedBackend(t, func(w http.ResponseWriter, req *http.Request) {
		gotTE.Store(strings.Join(req.TransferEncoding, ","))
		_ = http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Trailer", "X-Sum")
		h := sha256.New()
		buf := make([]byte, 1000)
		for {
			n, err := req.Body.Read(buf)
			h.Write(buf[:n])
			_, _ = w.Write(buf[:n])
			w.(http.Flusher).Flush()
			if err != nil {
				break
			}
		}
		w.Header().Set("X-Sum", hex.EncodeToString(h.Sum(nil)))
	})
	_, base := fastRouter(t, b)
	c := oneConnClient(t)
	payload := bytes.Repeat([]byte("chunk of a body "), 10000)
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(payload); i += 7000 {
			_, _ = pw.Write(payload[i:min(i+7000, len(payload))])
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/", pr) // no length: chunked
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("echoed %d bytes, want the %d sent", len(got), len(payload))
	}
	if te, _ := gotTE.Load().(string); te != "chunked" {
		t.Errorf("the backend got transfer encoding %q, want chunked", te)
	}
	if len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
		t.Errorf("the client got transfer encoding %v, want chunked", res.TransferEncoding)
	}
	sum := sha256.Sum256(payload)
	if tr := res.Trailer.Get("X-Sum"); tr != hex.EncodeToString(sum[:]) {
		t.Errorf("trailer X-Sum = %q, want %x", tr, sum)
	}
}

func TestFastPathLargeBodies(t *testing.T) {
	b, conns := countedBackend(t, func(w http.ResponseWriter, req *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		_, _ = io.Copy(w, req.Body) // echoes while it reads
	})
	_, base := fastRouter(t, b)
	c := oneConnClient(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	for range 2 {
		status, body, _ := do(t, c, "POST", base+"/", "x", bytes.NewReader(payload))
		if status != 200 || body != string(payload) {
			t.Fatalf("status %d, %d bytes back, want 200 and the %d sent", status, len(body), len(payload))
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the backend accepted %d connections, want 1", n)
	}
}

func TestFastPathStreamsResponses(t *testing.T) {
	next := make(chan struct{})
	b, _ := countedBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", "20") // a length does not stop the flush
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-next
		_, _ = io.WriteString(w, "data: 2\n\n")
	})
	_, base := fastRouter(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // bounds a hang
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event %q, %v; want it before the backend sends the second", line, err)
	}
	close(next)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\ndata: 2\n\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestFastPathBodilessResponses(t *testing.T) {
	b, conns := countedBackend(t, func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", "1000")
			if req.Method != "HEAD" {
				_, _ = w.Write(make([]byte, 1000))
			}
		}
	})
	_, base := fastRouter(t, b)
	c := oneConnClient(t)
	for _, tc := range []struct {
		method, path string
		status       int
		length       int64
	}{
		{"HEAD", "/", 200, 1000}, {"GET", "/204", 204, 0}, {"GET", "/304", 304, -1},
		{"HEAD", "/", 200, 1000}, {"GET", "/", 200, 1000},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		want := 0
		if tc.method == "GET" && tc.status == 200 {
			want = 1000
		}
		if err != nil || res.StatusCode != tc.status || len(body) != want || (tc.length >= 0 && res.ContentLength != tc.length) {
			t.Errorf("%s %s: %d, length %d, %d bytes, %v; want %d, length %d, %d bytes",
				tc.method, tc.path, res.StatusCode, res.ContentLength, len(body), err, tc.status, tc.length, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the backend accepted %d connections, want 1 (bodiless answers keep it)", n)
	}
}

func TestFastPathRemovesHopByHopHeaders(t *testing.T) {
	var seen atomic.Value
	b, _ := countedBackend(t, func(w http.ResponseWriter, req *http.Request) {
		seen.Store(req.Header.Clone())
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End", "kept")
	})
	_, base := fastRouter(t, b)
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("Connection", "X-Hop, keep-alive")
	req.Header.Set("X-Hop", "1")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic eA==")
	req.Header.Set("Te", "trailers, deflate")
	req.Header.Set("X-End", "kept")
	res, err := oneConnClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h, _ := seen.Load().(http.Header)
	for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Connection"} {
		if v, ok := h[k]; ok {
			t.Errorf("the backend got hop-by-hop header %s: %q", k, v)
		}
	}
	if h.Get("X-End") != "kept" || h.Get("Te") != "trailers" {
		t.Errorf("the backend got X-End %q and Te %q, want kept and trailers", h.Get("X-End"), h.Get("Te"))
	}
	for _, k := range []string{"X-Resp-Hop", "Keep-Alive"} {
		if v, ok := res.Header[k]; ok {
			t.Errorf("the client got hop-by-hop header %s: %q", k, v)
		}
	}
	if res.Header.Get("X-End") != "kept" {
		t.Errorf("the client got X-End %q, want kept", res.Header.Get("X-End"))
	}
}

// A backend that dies mid-response: the client's connection is broken off, the access log names the failure, and the
// next request gets a new backend connection.
func TestFastPathBackendDiesMidResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_ = req.Body.Close()
					if n == 1 {
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
						return
					}
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	var logBuf syncBuffer
	r := newTestRouter(t, Config{AccessLog: &logBuf})
	rt := route("app", "*", "/")
	rt.Backends = append(rt.Backends, api.Backend{Container: "raw", Node: "n1", Address: ln.Addr().String()})
	mustApply(t, r, table(rt))
	base := "http://" + r.HTTPAddr().String()
	// The router broke the connection off: before the header (it was
	// still buffered) or after part of the body.
	if res, err := http.Get(base + "/"); err == nil {
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Errorf("got %q and no error, want the response cut short", body)
		}
	}
	if status, body, _ := do(t, nil, "GET", base+"/", "x", nil); status != 200 || body != "ok" {
		t.Errorf("next request: %d %q, want 200 ok", status, body)
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("the backend accepted %d connections, want 2 (the broken one not reused)", n)
	}
	eventually(t, "two access log lines", func() bool { return strings.Count(logBuf.String(), "\n") >= 2 })
	var first httpEntry
	if err := json.Unmarshal([]byte(strings.SplitN(logBuf.String(), "\n", 2)[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Error == "" || first.Backend != ln.Addr().String() {
		t.Errorf("access log entry %+v, want the backend and its error", first)
	}
}
