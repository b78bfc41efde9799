// Package history checks that compare-and-swap updates of services, made
// by concurrent clients through the API of a real `wharf server` process
// that is killed with SIGKILL and restarted while they run, form a
// linearizable history (checked with porcupine, as etcd's robustness suite
// checks etcd). It builds the binary itself unless WHARF_BIN names one.
//
// WHARF_HISTORY_LONG=1 runs for minutes instead of seconds.
package history

import (
	"testing"

	"github.com/wharfhq/wharf/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }
