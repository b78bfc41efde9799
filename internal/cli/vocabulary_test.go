package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestOneVocabulary: enumerations are accepted in any case and with "-"
// or "_" through the CLI (and so the REST API, which the CLI calls), and
// stored and printed in one canonical spelling (issue 13, item 4).
func TestOneVocabulary(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	srv, admin := realServer(t)
	conn := []string{"--addr", srv.URL, "--token", admin}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := runCLI(t, append(append([]string{}, conn...), args...)...)
		if err != nil {
			t.Fatalf("wharf %s: %v (stderr %q)", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	inspect := func(name string) api.ServiceSpec {
		t.Helper()
		var svcs []api.Service
		if err := json.Unmarshal([]byte(run("service", "inspect", name)), &svcs); err != nil || len(svcs) != 1 {
			t.Fatalf("inspect %s: %v", name, err)
		}
		return svcs[0].Spec
	}
	for i, c := range []struct{ given, want string }{
		{"every_node", api.StrategyEveryNode}, {"every-node", api.StrategyEveryNode}, {"EVERY_NODE", api.StrategyEveryNode},
		{"SPREAD", api.StrategySpread}, {"High-Availability", api.StrategyHighAvailability}, {"BinPack", api.StrategyBinpack},
	} {
		name := "s" + strconv.Itoa(i)
		run("service", "create", "--detach", "--name", name, "--driver", "exec", "--strategy", c.given,
			"--autorestart", "on-failure", "--autodestroy", "off", "--", "sleep", "1")
		spec := inspect(name)
		if spec.Strategy != c.want || spec.Autorestart != api.PolicyOnFailure || spec.Autodestroy != api.PolicyOff {
			t.Errorf("--strategy %s stored strategy %q autorestart %q autodestroy %q, want %q ON_FAILURE OFF",
				c.given, spec.Strategy, spec.Autorestart, spec.Autodestroy, c.want)
		}
	}
	run("service", "create", "--detach", "--name", "web", "--image", "nginx", "--publish", "8080:80/UDP", "--", "nginx")
	if p := inspect("web").Ports; len(p) != 1 || p[0].Protocol != "udp" {
		t.Errorf("--publish 8080:80/UDP stored %+v, want protocol udp", p)
	}
	run("service", "update", "--detach", "web", "--failure-action", "ROLLBACK", "--update-order", "START_FIRST", "--rollback-order", "Stop_First")
	spec := inspect("web")
	if spec.Update.FailureAction != api.FailureRollback || spec.Update.Order != api.OrderStartFirst || spec.Rollback == nil || spec.Rollback.Order != api.OrderStopFirst {
		t.Errorf("update stored %+v rollback %+v, want rollback start-first, stop-first", spec.Update, spec.Rollback)
	}
	// unknown values are refused naming the field and the words to use
	_, _, err := runCLI(t, append(conn, []string{"service", "create", "--detach", "--name", "bad", "--driver", "exec", "--strategy", "sometimes", "--", "sleep", "1"}...)...)
	if err == nil || !strings.Contains(err.Error(), `spec.strategy: unknown strategy "sometimes": want one of EMPTIEST_NODE, HIGH_AVAILABILITY, EVERY_NODE, spread, binpack, random (any case, - or _)`) {
		t.Errorf("--strategy sometimes: %v", err)
	}
	_, _, err = runCLI(t, append([]string{"service", "update", "--detach", "web", "--failure-action", "continue"}, conn...)...)
	if err == nil || !strings.Contains(err.Error(), `spec.update.failure_action: must be rollback or pause, got "continue"`) {
		t.Errorf("--failure-action continue: %v", err)
	}
}
