// Package debounce is the rule by which Wharf's control loops gather a
// burst of changes into one action: act once the changes have stopped for
// a quiet spell, but never later than a bound after the burst's first
// change, so that a steady stream of changes is still acted on at that
// pace. It keeps no timer of its own: the loop arms its timer with the
// wait Change returns.
package debounce

import "time"

// Burst tracks one burst of changes. The zero value is not usable: set
// Quiet and Max (Max at least Quiet).
type Burst struct {
	// Quiet is how long after the latest change the action waits.
	Quiet time.Duration
	// Max is the longest the action waits after the burst's first change.
	Max time.Duration

	first time.Time
	open  bool
}

// Change records a change at now, opening a burst if none is open, and
// returns how long from now the action should run: Quiet, or less once
// the burst nears Max; never negative.
func (b *Burst) Change(now time.Time) time.Duration {
	if !b.open {
		b.open, b.first = true, now
	}
	return max(min(b.Quiet, b.first.Add(b.Max).Sub(now)), 0)
}

// Done closes the burst: the action ran (or was dropped). The next change
// opens a new one.
func (b *Burst) Done() { b.open = false }
