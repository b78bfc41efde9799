package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestSwarmClassicHabits: Swarm classic's -e constraint:/affinity:/
// reschedule: become scheduling rules, --constraint 'constraint:...' loses
// its prefix, and --tag a==b is refused naming the flag to use (issue 13,
// item 5).
func TestSwarmClassicHabits(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"WHARF_ADDR", "WHARF_TOKEN", "WHARF_CACERT", "WHARF_ORG"} {
		t.Setenv(v, "")
	}
	srv, admin := realServer(t)
	conn := []string{"--addr", srv.URL, "--token", admin}
	run := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := runCLI(t, append(append([]string{}, conn...), args...)...)
		return out, err
	}
	if _, err := run("service", "create", "--detach", "--name", "db", "--image", "redis:7",
		"-e", "constraint:storage==ssd", "-e", "affinity:image!=~nginx", "-e", "reschedule:on-node-failure", "-e", "MODE=prod",
		"--constraint", "constraint:zone==a", "--affinity", "affinity:service!=db"); err != nil {
		t.Fatal(err)
	}
	out, err := run("service", "inspect", "db")
	if err != nil {
		t.Fatal(err)
	}
	var svcs []api.Service
	if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	spec := svcs[0].Spec
	if got := strings.Join(spec.Constraints, " "); got != "zone==a storage==ssd" {
		t.Errorf("constraints %q, want \"zone==a storage==ssd\"", got)
	}
	if got := strings.Join(spec.Affinities, " "); got != "service!=db image!=~nginx" {
		t.Errorf("affinities %q, want \"service!=db image!=~nginx\"", got)
	}
	if len(spec.Env) != 1 || spec.Env["MODE"] != "prod" {
		t.Errorf("env %v, want only MODE=prod", spec.Env)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tag", "storage==ssd"}, `spec.tags[0]: tag "storage==ssd" is an expression: use a constraint (--constraint "storage==ssd", spec.constraints); a tag is "key=value" or "key"`},
		{[]string{"-e", "reschedule:off"}, `spec.env.reschedule:off: Swarm classic's "reschedule:off": Wharf always moves the containers of a lost node (after the node-loss grace); only reschedule:on-node-failure is accepted`},
		{[]string{"-e", "constraint:storage=ssd"}, `spec.env.constraint:storage: Swarm classic's "constraint:storage=ssd" is a constraint, and constraint "storage=ssd": want key==value`},
	} {
		_, err := run(append([]string{"service", "create", "--detach", "--name", "bad", "--image", "redis"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
