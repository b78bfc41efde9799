package history

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// The model: each service is a register holding one value (an integer
// written into the spec) at a store revision. Reads see (revision, value);
// a compare-and-swap write names the revision it expects and succeeds only
// if that is the current one, moving to a new, larger revision.

type opKind int

const (
	opInit opKind = iota // the state each service starts the history in
	opRead
	opCAS
)

// result is how an operation ended.
type result int

const (
	resOK       result = iota
	resConflict        // 409: the expected revision was not the current one
	resUnknown         // no answer: it may or may not have taken effect
)

type input struct {
	Key    string
	Op     opKind
	Expect int64 // opCAS: the If-Match revision
	Value  int64 // opCAS: the value written; opInit: the initial value
	Rev    int64 // opInit: the initial revision
}

type output struct {
	Result result
	Rev    int64 // opRead, opCAS ok: the revision the server reported
	Value  int64 // opRead: the value read
}

// state is one service's register. Rev 0 means a write whose answer was
// lost took effect: the revision is unknown but at least Floor.
type state struct {
	Rev   int64
	Value int64
	Floor int64
}

var before = state{Rev: -1} // before opInit

// current reports whether a write expecting revision e would find it.
func (s state) current(e int64) bool {
	if s.Rev > 0 {
		return e == s.Rev
	}
	return e >= s.Floor
}

func step(st, in, out any) []any {
	s, i, o := st.(state), in.(input), out.(output)
	if i.Op == opInit {
		if s != before {
			return nil
		}
		return []any{state{Rev: i.Rev, Value: i.Value}}
	}
	if s == before {
		return nil
	}
	switch i.Op {
	case opRead:
		if o.Value == s.Value && (s.Rev > 0 && o.Rev == s.Rev || s.Rev == 0 && o.Rev >= s.Floor) {
			return []any{state{Rev: o.Rev, Value: o.Value}}
		}
		return nil
	case opCAS:
		switch o.Result {
		case resOK:
			if s.current(i.Expect) && o.Rev > i.Expect {
				return []any{state{Rev: o.Rev, Value: i.Value}}
			}
			return nil
		case resConflict:
			if s.Rev > 0 && i.Expect == s.Rev {
				return nil
			}
			return []any{s}
		case resUnknown:
			next := []any{s}
			if s.current(i.Expect) {
				next = append(next, state{Value: i.Value, Floor: i.Expect + 1})
			}
			return next
		}
	}
	return nil
}

// registerModel is the porcupine model, partitioned by service.
var registerModel = (&porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(input).Key
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init:  func() []any { return []any{before} },
	Step:  step,
	Equal: func(a, b any) bool { return a.(state) == b.(state) },
	DescribeOperation: func(in, out any) string {
		i, o := in.(input), out.(output)
		switch i.Op {
		case opInit:
			return fmt.Sprintf("init %s rev %d value %d", i.Key, i.Rev, i.Value)
		case opRead:
			return fmt.Sprintf("read %s -> rev %d value %d", i.Key, o.Rev, o.Value)
		}
		switch o.Result {
		case resOK:
			return fmt.Sprintf("cas %s if %d := %d -> ok rev %d", i.Key, i.Expect, i.Value, o.Rev)
		case resConflict:
			return fmt.Sprintf("cas %s if %d := %d -> 409", i.Key, i.Expect, i.Value)
		}
		return fmt.Sprintf("cas %s if %d := %d -> unknown", i.Key, i.Expect, i.Value)
	},
	DescribeState: func(st any) string {
		s := st.(state)
		switch {
		case s == before:
			return "-"
		case s.Rev == 0:
			return fmt.Sprintf("rev >=%d value %d", s.Floor, s.Value)
		}
		return fmt.Sprintf("rev %d value %d", s.Rev, s.Value)
	},
}).ToModel()
