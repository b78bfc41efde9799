package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestActionsNewestFirst: `wharf actions --newest-first` asks the server
// for ?order=newest; without the flag it asks for no order (oldest first).
func TestActionsNewestFirst(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var orders []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders = append(orders, r.URL.Path+"?order="+r.URL.Query().Get("order"))
		_ = json.NewEncoder(w).Encode(api.List[api.Action]{Items: []api.Action{{Who: "ann", Method: "POST", Path: "/v1/services"}}})
	}))
	defer srv.Close()
	for _, args := range [][]string{{"actions", "--newest-first"}, {"actions"}} {
		if _, _, err := runCLI(t, append(args, "--addr", srv.URL, "--token", "wharf_t")...); err != nil {
			t.Fatal(err)
		}
	}
	if len(orders) != 2 || orders[0] != "/v1/actions?order=newest" || orders[1] != "/v1/actions?order=" {
		t.Fatalf("asked %v", orders)
	}
}
