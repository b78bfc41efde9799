package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/store"
)

// TestOverlayReport: an agent's overlay report (the peers it relays to)
// lands on its own node only, and a malformed one is refused and writes
// nothing.
func TestOverlayReport(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"n1", "n2"} {
		if err := e.st.Create(e.ctx, store.KindNodes, &api.Node{Meta: api.Meta{ID: id}, State: api.NodeDeployed, Hostname: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	cert, serial := nodeCert(t, e.ca, "n1")
	n1 := e.node("n1")
	n1.CertSerial = serial
	if err := e.st.Update(e.ctx, store.KindNodes, &n1); err != nil {
		t.Fatal(err)
	}

	for name, body := range map[string]string{
		"not JSON":    `{"relayed":`,
		"empty ID":    `{"relayed":[""]}`,
		"control":     `{"relayed":["a\u0000b"]}`,
		"too long ID": `{"relayed":["` + strings.Repeat("x", 300) + `"]}`,
		"too many":    `{"relayed":["` + strings.Repeat(`a","`, 5000) + `a"]}`,
	} {
		code, ecode, err := postAs(t, e, cert, "/agent/v1/overlay", body)
		if err != nil || code != http.StatusBadRequest || ecode != "invalid" {
			t.Errorf("%s: %d %q %v, want 400 invalid", name, code, ecode, err)
		}
	}
	if got := e.node("n1").OverlayRelayed; got != nil {
		t.Fatalf("a refused report was written: %v", got)
	}

	// A good report names n2; it lands on n1 (the session's node, whatever
	// the body says), sorted and without repeats, and n2 is untouched.
	if code, _, err := postAs(t, e, cert, "/agent/v1/overlay", `{"relayed":["n2","n2"]}`); err != nil || code != http.StatusNoContent {
		t.Fatalf("report: %d %v", code, err)
	}
	if got := e.node("n1").OverlayRelayed; !slices.Equal(got, []string{"n2"}) {
		t.Errorf("n1 relays to %v, want [n2]", got)
	}
	if got := e.node("n2").OverlayRelayed; got != nil {
		t.Errorf("n2 was changed by n1's report: %v", got)
	}
}
