package ui

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// streamsRound is one measure of n browsers following events: the heap
// and the goroutines the open streams hold (server and test clients
// together, in this one process: an upper bound of the server's share),
// and the process's resident memory then.
type streamsRound struct {
	heapMB     float64 // heap held by the open streams (after a GC)
	rssMB      float64 // resident memory with the streams open, less before
	goroutines int
}

// rssMB is this process's resident memory (VmRSS), 0 where /proc has none.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range bytes.Lines(b) {
		if f := strings.Fields(string(l)); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// followEvents opens n event streams on the session of br, scales svc to
// replicas (which must differ from its count: an unchanged count makes
// no event, and a round waiting for one would wait for ever), checks that
// every stream sends the change, and closes them all, waiting until the
// server's stream handlers have ended. A minute's deadline bounds the
// round, so a missing event fails it instead of hanging.
func followEvents(tb testing.TB, e *env, br *browser, svcID string, n, replicas int) streamsRound {
	tb.Helper()
	cookies := br.jar.Cookies(mustURL(e.srv.URL + "/ui/"))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rss0 := rssMB()
	g0 := runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		scanners []*bufio.Scanner
		bodies   []interface{ Close() error }
	)
	defer func() {
		for _, b := range bodies {
			_ = b.Close()
		}
	}()
	for range n {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/ui/stream", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := br.c.Do(req)
		if err != nil {
			tb.Fatalf("stream: %v", err)
		}
		bodies = append(bodies, resp.Body)
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("stream: %d", resp.StatusCode)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), ": wharf dashboard events") {
		}
		scanners = append(scanners, sc)
	}
	runtime.GC()
	var open runtime.MemStats
	runtime.ReadMemStats(&open)
	round := streamsRound{
		heapMB:     float64(int64(open.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20),
		rssMB:      rssMB() - rss0,
		goroutines: runtime.NumGoroutine() - g0,
	}
	if _, err := e.d.ScaleService(e.ctx, e.root, svcID, replicas, 0); err != nil {
		tb.Fatal(err)
	}
	for i, sc := range scanners {
		if typ, _ := next(sc); typ != "change" {
			tb.Fatalf("stream %d of %d sent %q, want the change to %d replicas (or the round's deadline passed: %v)", i+1, n, typ, replicas, sc.Err())
		}
	}
	// Close the streams and wait for their goroutines, server's and
	// clients', to end, so the next round starts from the same place.
	cancel()
	for _, b := range bodies {
		_ = b.Close()
	}
	bodies = nil
	br.c.CloseIdleConnections()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > g0+5 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return round
}

// TestEventStreams100 opens 100 browsers' event streams on one session
// and sends one change to all of them, which each must get; it logs the
// heap the open streams hold (a figure, not asserted; the target
// is under 50 MB for 100 browsers). BenchmarkEventStreams100 measures it
// round after round.
func TestEventStreams100(t *testing.T) {
	e := newEnv(t)
	svc := e.service("web", 1)
	br := e.signedIn(e.admin)
	r := followEvents(t, e, br, svc.ID, 100, 2)
	t.Logf("100 open event streams: %.1f MB of heap, %.1f MB more resident memory, %d goroutines (server and clients)", r.heapMB, r.rssMB, r.goroutines)
}

// BenchmarkEventStreams100 opens 100 event streams, sends a change to all
// of them and closes them, b.N times, reporting the heap and resident
// memory the open streams hold (the worst round) and their goroutines:
//
//	go test ./internal/ui -run XXX -bench EventStreams100 -benchtime 5x
//
// Each round scales the service to another count than the last (the same
// count makes no event: the round that waited for one hung), and ends
// when the server's handlers have.
func BenchmarkEventStreams100(b *testing.B) {
	e := newEnv(b)
	svc := e.service("web", 1)
	br := e.signedIn(e.admin)
	var worst streamsRound
	i := 0
	for b.Loop() {
		i++
		r := followEvents(b, e, br, svc.ID, 100, 2+i%2) // 3, 2, 3, ...: never the count before
		worst.heapMB = max(worst.heapMB, r.heapMB)
		worst.rssMB = max(worst.rssMB, r.rssMB)
		worst.goroutines = max(worst.goroutines, r.goroutines)
	}
	b.ReportMetric(worst.heapMB, "heap-MB")
	b.ReportMetric(worst.rssMB, "rss-MB")
	b.ReportMetric(float64(worst.goroutines), "goroutines")
}
