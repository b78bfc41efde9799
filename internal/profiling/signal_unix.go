//go:build unix

package profiling

import (
	"os"
	"syscall"
)

// stepSignal asks for a profile step.
var stepSignal os.Signal = syscall.SIGUSR1
