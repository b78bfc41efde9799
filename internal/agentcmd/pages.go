package agentcmd

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// When the agent drops the pages of its binary it has touched
// (dropBinaryPages): first startupPagesAfter after its start, by when it
// has joined and holds its session (or is retrying, which touches little
// new code), then every dropPagesEvery, so that code run once since (a
// reconnection, a certificate renewal, a deploy) does not stay resident
// for the rest of the agent's life. The pages in use come back from the
// page cache at their next touch: a few hundred minor faults.
const (
	startupPagesAfter = 20 * time.Second
	dropPagesEvery    = 10 * time.Minute
)

// dropBinaryPagesFrom calls dropBinaryPages first after d, then every
// dropPagesEvery, until ctx ends. A failure only costs memory: it is
// logged at debug, and ends the loop.
//
// Before each drop it collects the heap and returns its free pages to the
// system (debug.FreeOSMemory, a millisecond on the idle agent's heap of
// under a megabyte live). Otherwise an idle agent's first collection
// waits until the heap reaches its 4 MB minimum goal, 2.5 to 4 minutes
// after the start (3 MB of heap then, nearly all the garbage of starting
// and joining), and the pages that garbage held stay resident: about 1 MB
// more RssAnon at 5 minutes idle (docs/benchmarks.md). The collection
// comes first so that the pages of the binary it reads (the stack maps of
// every goroutine's frames) are dropped with the rest.
func dropBinaryPagesFrom(ctx context.Context, log *slog.Logger, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		debug.FreeOSMemory()
		n, err := dropBinaryPages()
		if err != nil {
			log.Debug("cannot drop the binary's pages from memory", "err", err)
			return
		}
		log.Debug("dropped the binary's pages from memory; the ones in use come back from the page cache", "mapped_bytes", n)
		t.Reset(dropPagesEvery)
	}
}
