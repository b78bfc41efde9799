package agentcmd

import (
	"context"
	"log/slog"
	"time"
)

// startupPagesAfter is how long after its start the agent drops the
// start-up pages of its binary (dropStartupPages): by then it has joined
// and holds its session, or is retrying, which touches little new code.
const startupPagesAfter = 20 * time.Second

// dropStartupPagesAfter calls dropStartupPages once, d from now, unless ctx
// ends first. A failure only costs memory, so it is logged at debug.
func dropStartupPagesAfter(ctx context.Context, log *slog.Logger, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	n, err := dropStartupPages()
	if err != nil {
		log.Debug("cannot drop the binary's start-up pages", "err", err)
		return
	}
	log.Debug("dropped the binary's start-up pages from memory; the ones in use come back from the page cache", "mapped_bytes", n)
}
