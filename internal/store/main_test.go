package store

import (
	"os"
	"testing"

	"github.com/wharfhq/wharf/internal/hostile"
)

// TestMain lets this test binary be the hostile probe that
// TestNoOtherUserReachesTheEmbeddedEtcd runs as user nobody.
func TestMain(m *testing.M) {
	hostile.RunProbeChild()
	os.Exit(m.Run())
}
