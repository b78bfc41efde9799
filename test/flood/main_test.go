// Package flood sends a live `wharf server` child process a flood of
// malformed and oversized requests on every route (random bytes, truncated
// and deeply nested JSON, huge strings, wrong types, unknown fields, bodies
// over the limit, bad paths, queries, If-Match and auth, unknown methods)
// and checks that none gets a 5xx, the server survives, and its heap comes
// back near where it started. It builds the binary itself unless WHARF_BIN
// names one.
//
// The short form sends 10,000 requests; WHARF_FLOOD_N=100000 sends more.
package flood

import (
	"testing"

	"github.com/wharfhq/wharf/internal/testserver"
)

func TestMain(m *testing.M) { testserver.Main(m) }
