//go:build !unix

package profiling

import "os"

// stepSignal is nil where there is no SIGUSR1: only Stop writes a profile.
var stepSignal os.Signal
