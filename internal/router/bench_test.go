package router

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkRouterHTTP compares GETs of a small body sent straight to an
// httptest backend with the same GETs through the router (keep-alive on
// both legs), sequential and parallel, to see the router's overhead.
func BenchmarkRouterHTTP(b *testing.B) {
	body := []byte("hello from the backend\n")
	backend := newBackendServer(b, "b", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	})
	r := newTestRouter(b, Config{})
	mustApply(b, r, table(route("app", "*", "/", backend)))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	// fetch reports with Error: it also runs on RunParallel's goroutines.
	fetch := func(b *testing.B, url string) {
		res, err := client.Get(url)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Errorf("status %d", res.StatusCode)
		}
	}
	for _, target := range []struct{ name, url string }{
		{"direct", backend.URL + "/"},
		{"router", "http://" + r.HTTPAddr().String() + "/"},
	} {
		b.Run(target.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fetch(b, target.url)
			}
		})
		b.Run(target.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					fetch(b, target.url)
				}
			})
		})
	}
}
