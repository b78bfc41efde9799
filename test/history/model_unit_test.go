package history

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func op(client int, call, ret int64, in input, out output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

// TestModel shows the checker can fail: histories a correct server could
// not produce are Illegal, and lost answers are allowed either way.
func TestModel(t *testing.T) {
	init := op(0, 0, 0, input{Key: "a", Op: opInit, Rev: 10, Value: 1}, output{})
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"sequential writes", []porcupine.Operation{init,
			op(1, 1, 2, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Rev: 11}),
			op(2, 3, 4, input{Key: "a", Op: opRead}, output{Rev: 11, Value: 2}),
			op(2, 5, 6, input{Key: "a", Op: opCAS, Expect: 10, Value: 3}, output{Result: resConflict}),
		}, porcupine.Ok},
		{"stale write succeeds", []porcupine.Operation{init,
			op(1, 1, 2, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Rev: 11}),
			op(2, 3, 4, input{Key: "a", Op: opCAS, Expect: 10, Value: 3}, output{Rev: 12}),
		}, porcupine.Illegal},
		{"acknowledged write lost", []porcupine.Operation{init,
			op(1, 1, 2, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Rev: 11}),
			op(2, 3, 4, input{Key: "a", Op: opRead}, output{Rev: 10, Value: 1}),
		}, porcupine.Illegal},
		{"current write refused", []porcupine.Operation{init,
			op(1, 1, 2, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Result: resConflict}),
		}, porcupine.Illegal},
		{"lost answer, write applied", []porcupine.Operation{init,
			op(1, 1, math.MaxInt64, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Result: resUnknown}),
			op(2, 3, 4, input{Key: "a", Op: opRead}, output{Rev: 13, Value: 2}),
			op(2, 5, 6, input{Key: "a", Op: opCAS, Expect: 13, Value: 4}, output{Rev: 14}),
		}, porcupine.Ok},
		{"lost answer, write not applied", []porcupine.Operation{init,
			op(1, 1, math.MaxInt64, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Result: resUnknown}),
			op(2, 3, 4, input{Key: "a", Op: opCAS, Expect: 10, Value: 3}, output{Rev: 12}),
		}, porcupine.Ok},
		{"lost answer applied twice", []porcupine.Operation{init,
			op(1, 1, math.MaxInt64, input{Key: "a", Op: opCAS, Expect: 10, Value: 2}, output{Result: resUnknown}),
			op(2, 3, 4, input{Key: "a", Op: opRead}, output{Rev: 12, Value: 2}),
			op(2, 5, 6, input{Key: "a", Op: opCAS, Expect: 10, Value: 3}, output{Rev: 13}),
		}, porcupine.Illegal},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperationsTimeout(registerModel, c.ops, 10*time.Second); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
