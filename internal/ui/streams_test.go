package ui

import (
	"bufio"
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// TestEventStreams100 opens 100 browsers' event streams on one session
// and sends one change to all of them, which each must get; it logs the
// heap the open streams hold (server and test clients together, in this
// one process: an upper bound of the server's share) and the goroutines
// they take (a figure, not asserted). The target is under 50 MB
// for 100 browsers. Run it with -v to see the figure.
func TestEventStreams100(t *testing.T) {
	b := t
	e := newEnv(b)
	svc := e.service("web", 1)
	br := e.signedIn(e.admin)
	cookies := br.jar.Cookies(mustURL(e.srv.URL + "/ui/"))
	{
		replicas := 2
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()

		ctx, cancel := context.WithCancel(context.Background())
		var scanners []*bufio.Scanner
		for range 100 {
			req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/ui/stream", nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			resp, err := br.c.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("stream: %v", err)
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() && !strings.HasPrefix(sc.Text(), ": wharf dashboard events") {
			}
			scanners = append(scanners, sc)
		}
		runtime.GC()
		var open runtime.MemStats
		runtime.ReadMemStats(&open)
		goroutines := runtime.NumGoroutine() - g0

		if _, err := e.d.ScaleService(e.ctx, e.root, svc.ID, replicas, 0); err != nil {
			b.Fatal(err)
		}
		for _, sc := range scanners {
			if typ, _ := next(sc); typ != "change" {
				b.Fatalf("a stream sent %q, want the change", typ)
			}
		}
		cancel()
		t.Logf("100 open event streams: %.1f MB of heap, %d goroutines (server and clients)",
			float64(int64(open.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), goroutines)
	}
}
