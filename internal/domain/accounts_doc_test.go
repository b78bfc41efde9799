package domain

import (
	"os"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// accessTable is docs/accounts.md's table of what each level of each area
// allows, made from Verbs.
func accessTable() string {
	var b strings.Builder
	b.WriteString("| area | level | verbs allowed |\n|---|---|---|\n")
	for _, ar := range append(append([]Area(nil), Areas...), AreaServer) {
		for li, lvl := range Levels {
			var vs []string
			for _, v := range Verbs {
				if va, vl := v.Needs(); va == ar && vl <= Level(li) && vl > NoAccess {
					vs = append(vs, "`"+string(v)+"`")
				}
			}
			if len(vs) == 0 {
				vs = []string{"—"}
			}
			b.WriteString("| " + string(ar) + " | " + lvl + " | " + strings.Join(vs, ", ") + " |\n")
		}
	}
	return b.String()
}

// roleTable is docs/accounts.md's table of what each token role keeps.
func roleTable() string {
	var b strings.Builder
	b.WriteString("| verb | needs | read-only | deploy | admin (or none) |\n|---|---|---|---|---|\n")
	for _, v := range Verbs {
		ar, l := v.Needs()
		b.WriteString("| `" + string(v) + "` | " + string(ar) + " " + l.String())
		for _, r := range []string{api.RoleReadOnly, api.RoleDeploy, api.RoleAdmin} {
			if roleAllows(r, v) {
				b.WriteString(" | yes")
			} else {
				b.WriteString(" | no")
			}
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// between is the text of doc between the marker comments <!-- name -->
// and <!-- /name -->.
func between(doc, name string) string {
	_, rest, ok := strings.Cut(doc, "<!-- "+name+" -->\n")
	if !ok {
		return ""
	}
	in, _, _ := strings.Cut(rest, "<!-- /"+name+" -->")
	return in
}

// TestAccountsDocTable: the tables of docs/accounts.md are what the code
// does (regenerate them from the failure's output when a verb changes).
func TestAccountsDocTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/accounts.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if got, want := between(doc, "access-table"), accessTable(); got != want {
		t.Errorf("docs/accounts.md access table differs from domain.Verbs; want:\n%s", want)
	}
	if got, want := between(doc, "role-table"), roleTable(); got != want {
		t.Errorf("docs/accounts.md role table differs from roleAllows; want:\n%s", want)
	}
}
