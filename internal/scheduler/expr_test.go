package scheduler

import (
	"strings"
	"testing"
)

// TestSwarmExamples checks expressions in the style of Swarm classic's
// filter documentation parse and mean what it says.
func TestSwarmExamples(t *testing.T) {
	cases := []struct {
		expr       string
		affinity   bool
		match, not []string // values that hold / do not (constraints: label present)
	}{
		{expr: "storage==ssd", match: []string{"ssd"}, not: []string{"disk", "ssd2"}},
		{expr: "node.labels.storage==ssd", match: []string{"ssd"}, not: []string{"hdd"}},
		{expr: "region==us-east", match: []string{"us-east"}, not: []string{"us-west"}},
		{expr: "region==us-*", match: []string{"us-east", "us-"}, not: []string{"eu-west", "xus-east"}},
		{expr: "region!=us-*", match: []string{"eu-west"}, not: []string{"us-east"}},
		{expr: "node==node-1", match: []string{"node-1"}, not: []string{"node-2"}},
		{expr: "node!=node-1", match: []string{"node-2"}, not: []string{"node-1"}},
		{expr: "node==/node-[12]/", match: []string{"node-1", "node-2"}, not: []string{"node-3"}},
		{expr: "node!=/node-[01]/", match: []string{"node-2"}, not: []string{"node-0", "node-1"}},
		{expr: "node==/node-\\d{2}/", match: []string{"node-10"}, not: []string{"node-1"}},
		{expr: "disk==ssd*", match: []string{"ssd", "ssd-nvme"}, not: []string{"hdd"}},
		{expr: "storage==~ssd", match: []string{"ssd"}, not: []string{"hdd"}},
		{expr: "kernelversion!=~3.10*", match: []string{"4.4"}, not: []string{"3.10.0"}},
		{expr: "container==frontend", affinity: true, match: []string{"frontend"}, not: []string{"backend"}},
		{expr: "container!=frontend", affinity: true, match: []string{"backend"}, not: []string{"frontend"}},
		{expr: "image==redis", affinity: true, match: []string{"redis"}, not: []string{"mysql"}},
		{expr: "image==~redis", affinity: true, match: []string{"redis"}, not: []string{"nginx"}},
		{expr: "container!=~frontend*", affinity: true, match: []string{"db"}, not: []string{"frontend-2"}},
		{expr: "service==db", affinity: true, match: []string{"db"}, not: []string{"web"}},
		{expr: "service!=/web|api/", affinity: true, match: []string{"db"}, not: []string{"web", "api"}},
	}
	for _, tc := range cases {
		parse := ParseConstraint
		if tc.affinity {
			parse = ParseAffinity
		}
		e, err := parse(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if e.String() != tc.expr {
			t.Errorf("%s: String() = %q", tc.expr, e.String())
		}
		if wantSoft := strings.Contains(tc.expr, "~"); e.Soft != wantSoft {
			t.Errorf("%s: soft = %v", tc.expr, e.Soft)
		}
		for _, v := range tc.match {
			if !e.Holds(v, true) {
				t.Errorf("%s: should hold for %q", tc.expr, v)
			}
		}
		for _, v := range tc.not {
			if e.Holds(v, true) {
				t.Errorf("%s: should not hold for %q", tc.expr, v)
			}
		}
		// A missing label fails == and passes !=.
		if !tc.affinity && e.Holds("", false) == e.Equal {
			t.Errorf("%s: wrong answer for a missing label", tc.expr)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"zone=a", `constraint "zone=a": want key==value, key!=value`},
		{"zone", `constraint "zone": want key==value`},
		{"==a", `constraint "==a": missing key`},
		{"zone==", `constraint "zone==": missing value`},
		{"zone===a", `bad operator`},
		{"zo ne==a", `bad key "zo ne"`},
		{"node.cpu==4", `unknown key "node.cpu"`},
		{"node.labels.==a", `missing label name`},
		{"zone==/[/", `bad regex /[/`},
	}
	for _, tc := range cases {
		_, err := ParseConstraint(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConstraint(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseAffinity("host==a"); err == nil || !strings.Contains(err.Error(), `affinity "host==a": unknown key "host"`) {
		t.Errorf("ParseAffinity(host==a) = %v", err)
	}
}

func FuzzParseExpression(f *testing.F) {
	for _, s := range []string{"zone==a", "node.labels.disk!=ssd*", "node==/node-[12]/", "a==~b", "service!=~web", "x=y", "", "==", "a!=/(/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpression(s)
		_, _ = ParseConstraint(s)
		_, _ = ParseAffinity(s)
		if err != nil {
			return
		}
		e.Holds("value", true)
		back, err := ParseExpression(e.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, e.String(), err)
		}
		if back.Key != e.Key || back.Equal != e.Equal || back.Soft != e.Soft || back.Value != e.Value {
			t.Fatalf("%q round-trips to %+v, want %+v", s, back, e)
		}
	})
}
