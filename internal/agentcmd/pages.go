package agentcmd

import (
	"context"
	"log/slog"
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
func dropBinaryPagesFrom(ctx context.Context, log *slog.Logger, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := dropBinaryPages()
		if err != nil {
			log.Debug("cannot drop the binary's pages from memory", "err", err)
			return
		}
		log.Debug("dropped the binary's pages from memory; the ones in use come back from the page cache", "mapped_bytes", n)
		t.Reset(dropPagesEvery)
	}
}
