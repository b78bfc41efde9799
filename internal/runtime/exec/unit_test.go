package exec

import (
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/runtime"
)

func TestTailOffset(t *testing.T) {
	long := strings.Repeat("x", 100) + "\n"
	tests := []struct {
		text string
		n    int
		want string
	}{
		{"", 1, ""},
		{"a", 1, "a"},
		{"a\n", 1, "a\n"},
		{"a\nb", 1, "b"},
		{"a\nb\n", 1, "b\n"},
		{"a\nb\n", 2, "a\nb\n"},
		{"a\nb\n", 5, "a\nb\n"},
		{"a\n\nb\n", 2, "\nb\n"},
		{"\n\n", 1, "\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{strings.Repeat(long, 50), 3, strings.Repeat(long, 3)},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 7, 4096} {
			r := strings.NewReader(tt.text)
			off, err := tailOffset(r, int64(len(tt.text)), tt.n, chunk)
			if err != nil {
				t.Fatalf("tailOffset(%q, %d): %v", tt.text, tt.n, err)
			}
			if got := tt.text[off:]; got != tt.want {
				t.Errorf("tail %d of %q (chunk %d) = %q, want %q", tt.n, tt.text, chunk, got, tt.want)
			}
		}
	}
}

func TestParseProcStat(t *testing.T) {
	rest := " 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100"
	tests := []struct {
		name, text string
		want       procStat
		wantErr    bool
	}{
		{"plain", "42 (sleep) S" + rest, procStat{state: 'S', pgrp: 1, startTime: 987654}, false},
		{"odd command name", "42 (a) (b ) Z) Z" + rest, procStat{state: 'Z', pgrp: 1, startTime: 987654}, false},
		{"no parenthesis", "42 sleep S" + rest, procStat{}, true},
		{"too short", "42 (sleep) S 1 2", procStat{}, true},
		{"bad start time", "42 (sleep) S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x 1000", procStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.text)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseProcStat = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestEnvironOverrides(t *testing.T) {
	spec := runtime.Spec{ID: "i", Name: "n", Service: "s", Slot: 2, Node: "x",
		Env: map[string]string{"A": "spec", "PORT": "80", "WHARF_SLOT": "9"}}
	got := environ([]string{"A=agent", "B=agent", "PORT=1", "junk", "=x"}, spec, 3000)
	want := []string{"A=spec", "B=agent", "PORT=3000", "WHARF_CONTAINER_ID=i", "WHARF_CONTAINER_NAME=n",
		"WHARF_NODE=x", "WHARF_SERVICE=s", "WHARF_SLOT=2"}
	if !slices.Equal(got, want) {
		t.Errorf("environ = %q, want %q", got, want)
	}
}

func TestCheckID(t *testing.T) {
	for _, id := range []string{"a", "web-3", "0193.abc_DEF", strings.Repeat("a", 128)} {
		if err := checkID(id); err != nil {
			t.Errorf("checkID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", ".hidden", "a/b", "a b", "é", strings.Repeat("a", 129)} {
		if err := checkID(id); err == nil {
			t.Errorf("checkID(%q) accepted it", id)
		}
	}
}
