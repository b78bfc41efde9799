package domain

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestListActionsNewestFirst pages the audit trail newest first, two at a
// time: every action once, in descending time order, the cursor of each
// page leading to the older ones, and the default order unchanged.
func TestListActionsNewestFirst(t *testing.T) {
	d := newTestDomain(t)
	for i := range 5 {
		if err := d.RecordAction(t.Context(), admin, api.Action{Who: "admin", Method: "POST", Path: fmt.Sprintf("/v1/x/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	paths := func(p Page) ([]string, string) {
		t.Helper()
		rp, err := d.ListActions(t.Context(), reader, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, raw := range rp.Items {
			var a api.Action
			if err := raw.Decode(&a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a.Path)
		}
		return out, rp.Next
	}
	var got []string
	p := Page{Limit: 2, Reverse: true}
	for range 5 {
		ps, next := paths(p)
		got = append(got, ps...)
		if next == "" {
			break
		}
		p.After = next
	}
	want := "[/v1/x/4 /v1/x/3 /v1/x/2 /v1/x/1 /v1/x/0]"
	if fmt.Sprint(got) != want {
		t.Fatalf("newest first, 2 a page: %v, want %s", got, want)
	}
	if ps, _ := paths(Page{Limit: 2}); fmt.Sprint(ps) != "[/v1/x/0 /v1/x/1]" {
		t.Fatalf("the default order changed: %v", ps)
	}
}
