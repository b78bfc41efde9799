package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/api/client"
)

// waitFlags are --detach and --timeout of the commands that change what
// runs (service create, update, scale, redeploy; stack deploy): like
// docker service create/update, they wait by default until the change has
// converged, printing each slot's progress on stderr.
type waitFlags struct {
	detach  bool
	timeout time.Duration
}

// defaultWaitTimeout bounds a wait that no --timeout sets.
const defaultWaitTimeout = 5 * time.Minute

// waitPoll is how often a wait reads the service and its containers.
var waitPoll = 300 * time.Millisecond

func addWaitFlags(cmd *cobra.Command, w *waitFlags) {
	cmd.Flags().BoolVarP(&w.detach, "detach", "d", false, "return at once, without waiting for the containers to run")
	cmd.Flags().DurationVar(&w.timeout, "timeout", defaultWaitTimeout, "how long to wait for the containers to run before failing (without --detach)")
}

// waitHelp is the part of each waiting command's help that explains it.
const waitHelp = `
Without --detach, it waits until the change converged: every container of
the service's current generation runs (healthy, with a health check) and no
other is left. Each slot's progress (placed, starting, running, healthy,
failed) is printed on stderr. It exits 0 once converged, and 1 with the
reason when the rollout failed (rolled back or paused), a container keeps
failing (its error), or --timeout passed (what it still waits for).`

// wait follows s unless --detach.
func (wf *waitFlags) wait(cmd *cobra.Command, c *client.Client, s api.Service) error {
	if wf.detach {
		return nil
	}
	return waitServices(cmd.Context(), c, cmd.ErrOrStderr(), wf.timeout, []target{{s.ID, s.Name, s.RestartGeneration}})
}

// target is one service a wait follows: its ID and the generation its
// containers must reach.
type target struct {
	id, name string
	gen      int
}

// errWaitFailed marks a wait whose change did not converge.
var errWaitFailed = errors.New("not converged")

// waitServices follows each target until it converged, failed or the
// timeout passed; progress goes to w.
func waitServices(ctx context.Context, c *client.Client, w io.Writer, timeout time.Duration, targets []target) error {
	if timeout <= 0 {
		return fmt.Errorf("--timeout %s: want a positive duration such as 2m", timeout)
	}
	deadline := time.Now().Add(timeout)
	var failures []string
	for _, t := range targets {
		if err := waitService(ctx, c, w, deadline, timeout, t); err != nil {
			if !errors.Is(err, errWaitFailed) {
				return err
			}
			failures = append(failures, strings.TrimSuffix(err.Error(), ": "+errWaitFailed.Error()))
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// waitState is what a wait has seen of one service.
type waitState struct {
	phase   map[string]string // by container ID, the last phase printed
	pending string
	lastErr string // the last error of a container of the target generation
	nodes   map[string]string
}

func waitService(ctx context.Context, c *client.Client, w io.Writer, deadline time.Time, timeout time.Duration, t target) error {
	ws := &waitState{phase: map[string]string{}}
	for {
		s, err := c.Service(ctx, t.id)
		if err != nil {
			return fmt.Errorf("service %s: %w", t.name, err)
		}
		cts, err := c.Containers(ctx, s.ID, "")
		if err != nil {
			return fmt.Errorf("service %s: %w", t.name, err)
		}
		if err := ws.progress(ctx, c, w, s, cts, t.gen); err != nil {
			return err
		}
		done, reason := converged(s, cts, t.gen, ws.lastErr)
		switch {
		case done && reason == "":
			return say(w, "%s: converged: %s\n", s.Name, runningText(s, cts, t.gen))
		case done:
			return fmt.Errorf("service %s: %s: %w", s.Name, reason, errWaitFailed)
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("not converged within %s: %s, %s", timeout, s.Status.State, runningText(s, cts, t.gen))
			if s.Status.Pending != "" {
				msg += "; waiting for: " + strings.ReplaceAll(s.Status.Pending, "\n", "; ")
			}
			return fmt.Errorf("service %s: %s: %w", s.Name, msg, errWaitFailed)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s: %w", t.name, ctx.Err())
		case <-time.After(waitPoll):
		}
	}
}

// runningText is "1 of 2 containers running".
func runningText(s api.Service, cts []api.Container, gen int) string {
	ready := 0
	for _, ct := range cts {
		if ct.Spec.Generation == gen && ct.Spec.Desired == api.ContainerRunning && ct.Ready() {
			ready++
		}
	}
	return strconv.Itoa(ready) + " of " + strconv.Itoa(wantOf(s, cts)) + " containers running"
}

// wantOf is how many containers the service should run: Replicas, or for
// EVERY_NODE the slots the controller made.
func wantOf(s api.Service, cts []api.Container) int {
	if s.Spec.Strategy != api.StrategyEveryNode {
		return s.Spec.Replicas
	}
	n := 0
	for _, ct := range cts {
		if ct.Spec.Desired != api.ContainerTerminated {
			n++
		}
	}
	return n
}

// converged says whether a wait is over: done with reason "" when the
// service runs gen everywhere it should, done with a reason when the
// change failed, not done while it is on its way.
func converged(s api.Service, cts []api.Container, gen int, lastErr string) (done bool, reason string) {
	st := s.Status
	withErr := func(msg string) string {
		if lastErr != "" {
			return msg + " (last error: " + lastErr + ")"
		}
		return msg
	}
	switch {
	case s.Terminating:
		return true, "the service is being removed"
	case s.RestartGeneration < gen:
		msg := "the update failed and rolled back to generation " + strconv.Itoa(s.RestartGeneration)
		if why, ok := strings.CutSuffix(st.UpdateMessage, "; rolled back to the previous spec"); ok {
			return true, msg + ": " + why
		}
		return true, withErr(msg)
	case s.RestartGeneration > gen:
		return true, "changed again meanwhile (generation " + strconv.Itoa(s.RestartGeneration) + ")"
	case st.UpdateGeneration == gen && st.UpdateState == api.UpdateStatePaused:
		return true, withErr("the update paused: " + st.UpdateMessage)
	case st.State == api.ServiceFailing && failingOf(cts, gen):
		return true, fmt.Sprintf("%d of %d containers failing: %s", st.FailingContainers, wantOf(s, cts), st.LastError)
	case !s.Spec.Running:
		return st.State == api.ServiceStopped, ""
	}
	want := wantOf(s, cts)
	ready := 0
	for _, ct := range cts {
		if ct.Spec.Generation != gen || ct.Spec.Desired != api.ContainerRunning || !ct.Ready() {
			return false, "" // a container of another generation, or one still coming up or going
		}
		ready++
	}
	if ready != want {
		return false, ""
	}
	if want == 0 {
		return st.State == api.ServiceNotRunning, ""
	}
	return st.State == api.ServiceRunning, ""
}

// failingOf: some container of generation gen fails now (the service's
// Failing may be about the generation before, until the controller has
// seen the change).
func failingOf(cts []api.Container, gen int) bool {
	for _, ct := range cts {
		if ct.Spec.Generation == gen && ct.Spec.Desired == api.ContainerRunning &&
			(ct.Status.LastError() != "" || (ct.Status.State == api.ContainerStarting && ct.Status.RestartCount > 0)) {
			return true
		}
	}
	return false
}

// progress prints, on w, each change of a slot's phase and of what holds
// the service back.
func (ws *waitState) progress(ctx context.Context, c *client.Client, w io.Writer, s api.Service, cts []api.Container, gen int) error {
	slices.SortFunc(cts, func(a, b api.Container) int {
		if a.Spec.Slot != b.Spec.Slot {
			return a.Spec.Slot - b.Spec.Slot
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, ct := range cts {
		if ct.Spec.Generation != gen || ct.Spec.Desired != api.ContainerRunning {
			continue
		}
		if e := ct.Status.LastError(); e != "" {
			ws.lastErr = shortError(ct)
		}
		if ct.Spec.Node != "" && ws.nodes[ct.Spec.Node] == "" {
			ws.loadNodes(ctx, c)
		}
		ph := slotPhase(ct, ws.nodes)
		if ws.phase[ct.ID] == ph {
			continue
		}
		ws.phase[ct.ID] = ph
		if err := say(w, "%s: %s\n", ct.Name, ph); err != nil {
			return err
		}
	}
	if s.Status.Pending != ws.pending {
		ws.pending = s.Status.Pending
		if ws.pending != "" {
			return say(w, "%s: waiting: %s\n", s.Name, strings.ReplaceAll(ws.pending, "\n", "; "))
		}
	}
	return nil
}

func (ws *waitState) loadNodes(ctx context.Context, c *client.Client) {
	if ws.nodes == nil {
		ws.nodes = map[string]string{}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return // the ID stands in for the name
	}
	for _, n := range nodes {
		ws.nodes[n.ID] = orDash(n.Name)
	}
}

// slotPhase is where a container of the wait's generation is: not placed
// yet, scheduled on a node, starting, running (health check starting),
// healthy or running, or failed with its error.
func slotPhase(ct api.Container, nodes map[string]string) string {
	node := nodes[ct.Spec.Node]
	if node == "" {
		node = ct.Spec.Node
	}
	st := ct.Status
	switch {
	case ct.Spec.Node == "":
		return "waiting to be placed"
	case st.LastError() != "":
		return "failed: " + shortError(ct)
	case st.State == "" || st.State == api.ContainerPending:
		return "scheduled on " + node
	case st.State == api.ContainerStarting && st.RestartCount > 0:
		return "starting again (restart " + strconv.Itoa(st.RestartCount) + ")"
	case st.State == api.ContainerStarting:
		if ct.Spec.Image != "" {
			return "starting (pulling " + ct.Spec.Image + " if missing)"
		}
		return "starting"
	case st.State == api.ContainerRunning && ct.Spec.Healthcheck != nil && st.Health != api.HealthHealthy:
		return "running, health check " + orDash(st.Health)
	case st.State == api.ContainerRunning && ct.Spec.Healthcheck != nil:
		return "healthy"
	case st.State == api.ContainerRunning:
		return "running"
	}
	return strings.ToLower(string(st.State))
}
