package tunnel

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// TestHTTPClientKeepsNoIdleStreamAtZero: with idle 0 each request has a
// stream of its own, closed after the response, so the serving side holds
// no connection (no goroutine, no buffers) between requests; with idle 1
// one stream stays open for the next request.
func TestHTTPClientKeepsNoIdleStreamAtZero(t *testing.T) {
	for _, idle := range []int{0, 1} {
		c1, c2 := net.Pipe()
		cfg := Config(slog.New(slog.DiscardHandler))
		cfg.EnableKeepAlive = false
		client, err := yamux.Client(c1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		server, err := yamux.Server(c2, cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(server) }()

		hc := HTTPClient(client, idle)
		for range 3 {
			resp, err := hc.Get("http://agent/x")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if string(b) != "ok" {
				t.Fatalf("idle %d: answer %q", idle, b)
			}
		}
		want := min(idle, 1)
		deadline := time.Now().Add(5 * time.Second)
		for server.NumStreams() != want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := server.NumStreams(); n != want {
			t.Errorf("idle %d: the serving side holds %d streams after 3 requests, want %d", idle, n, want)
		}
		_ = srv.Close()
		_ = client.Close()
		_ = server.Close()
	}
}
