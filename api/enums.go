package api

import "strings"

// Enum is a closed set of values, each with one canonical spelling: the
// one Wharf stores and prints. Input is matched case-insensitively and with
// "-" and "_" alike (every_node, EVERY_NODE and every-node are one value).
type Enum struct {
	Field  string   // what the values are, for messages
	Values []string // canonical spellings
}

// The enumerations of a service spec.
var (
	Strategies = Enum{"strategy", []string{
		StrategyEmptiestNode, StrategyHighAvailability, StrategyEveryNode,
		StrategySpread, StrategyBinpack, StrategyRandom,
	}}
	AutorestartPolicies  = Enum{"autorestart policy", []string{PolicyOff, PolicyOnFailure, PolicyAlways}}
	AutodestroyPolicies  = Enum{"autodestroy policy", []string{PolicyOff, PolicyOnSuccess, PolicyAlways}}
	UpdateOrders         = Enum{"update order", []string{OrderStopFirst, OrderStartFirst}}
	FailureActions       = Enum{"failure action", []string{FailureRollback, FailurePause}}
	Protocols            = Enum{"protocol", []string{"tcp", "udp"}}
	DriverNames          = Enum{"driver", Drivers}
	DependencyConditions = Enum{"condition", []string{ConditionStarted, ConditionHealthy, ConditionCompleted}}
)

// FoldEnum is s as enumerations compare it: trimmed, lower case, "_" as "-".
func FoldEnum(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
}

// Canonical returns the canonical spelling of s, and whether s is one of
// e's values.
func (e Enum) Canonical(s string) (string, bool) {
	f := FoldEnum(s)
	for _, v := range e.Values {
		if FoldEnum(v) == f {
			return v, true
		}
	}
	return s, false
}

// Normalize replaces *s by its canonical spelling when it is one of e's
// values, and leaves it (empty or unknown) as it is otherwise; it reports
// whether *s is empty or known.
func (e Enum) Normalize(s *string) bool {
	if *s == "" {
		return true
	}
	c, ok := e.Canonical(*s)
	*s = c
	return ok
}

// List is the values for a message: "a, b or c".
func (e Enum) List() string {
	switch n := len(e.Values); n {
	case 0:
		return ""
	case 1:
		return e.Values[0]
	default:
		return strings.Join(e.Values[:n-1], ", ") + " or " + e.Values[n-1]
	}
}
