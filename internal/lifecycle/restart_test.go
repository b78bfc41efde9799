package lifecycle

import (
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestRestartWanted(t *testing.T) {
	for _, c := range []struct {
		policy string
		code   int
		want   bool
	}{
		{"", 1, false}, {api.PolicyOff, 1, false},
		{api.PolicyOnFailure, 0, false}, {api.PolicyOnFailure, 1, true}, {api.PolicyOnFailure, -1, true},
		{api.PolicyAlways, 0, true}, {api.PolicyAlways, 143, true},
	} {
		if got := RestartWanted(c.policy, c.code); got != c.want {
			t.Errorf("RestartWanted(%q, %d) = %v", c.policy, c.code, got)
		}
	}
}

func TestOwnExit(t *testing.T) {
	code := func(n int) *int { return &n }
	for _, c := range []struct {
		code *int
		want bool
	}{{code(0), true}, {code(1), true}, {code(143), false}, {code(137), false}, {code(-1), false}, {nil, false}} {
		if got := OwnExit(api.ContainerStatus{State: api.ContainerStopped, ExitCode: c.code}); got != c.want {
			t.Errorf("OwnExit(exit code %v) = %v", c.code, got)
		}
	}
}
