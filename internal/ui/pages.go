package ui

// The read pages: what each shows, read through the domain layer as the
// signed-in actor. A part of a page the actor may not read (nodes, for a
// user without access to them) is left out, not an error.

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// count is one state and how many are in it.
type count struct {
	State string
	N     int
}

func countBy[T any](items []T, state func(T) string) []count {
	m := map[string]int{}
	for _, it := range items {
		m[state(it)]++
	}
	out := make([]count, 0, len(m))
	for s, n := range m {
		out = append(out, count{s, n})
	}
	slices.SortFunc(out, func(a, b count) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), cmp.Compare(a.State, b.State))
	})
	return out
}

// rank puts failing states first.
func rank(state string) int {
	switch stateClass(state) {
	case "bad":
		return 0
	case "warn":
		return 1
	case "idle":
		return 3
	}
	return 2
}

// failing is whether a service needs a look.
func failing(s *api.Service) bool {
	return s.Status.State == api.ServiceFailing || s.Status.FailingContainers > 0 || s.Status.Pending != ""
}

type overviewData struct {
	ShowNodes     bool
	Nodes         int
	NodeStates    []count
	BadNodes      []api.Node
	Services      int
	ServiceStates []count
	Failing       []api.Service
	Events        []api.Event
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, a := r.Context(), s.actor
	var d overviewData
	svcs, err := h.allServices(ctx, a, "")
	if err != nil {
		return err
	}
	d.Services = len(svcs)
	d.ServiceStates = countBy(svcs, func(s api.Service) string { return string(s.Status.State) })
	for i := range svcs {
		if failing(&svcs[i]) {
			d.Failing = append(d.Failing, svcs[i])
		}
	}
	nodes, err := h.allNodes(ctx, a)
	switch {
	case forbidden(err):
	case err != nil:
		return err
	default:
		d.ShowNodes, d.Nodes = true, len(nodes)
		d.NodeStates = countBy(nodes, func(n api.Node) string { return string(n.State) })
		for _, n := range nodes {
			if n.State != api.NodeDeployed {
				d.BadNodes = append(d.BadNodes, n)
			}
		}
	}
	if d.Events, err = h.recentEvents(ctx, a, 15); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "overview", s, "Overview", d)
	return nil
}

type servicesData struct {
	// Q is the name filter, StateFilter the state one ("": any).
	Q, StateFilter string
	States         []string
	Total          int
	Services       []serviceRow
}

// serviceRow is one line of a services table, its text made beforehand
// (a page of a thousand renders faster from plain strings).
type serviceRow struct {
	ID, Name, State, Class, What, LastError string
	Running, Replicas                       int
}

func rowsOf(svcs []*api.Service) []serviceRow {
	out := make([]serviceRow, len(svcs))
	for i, s := range svcs {
		what := s.Spec.Image
		if what == "" {
			what = strings.Join(s.Spec.Command, " ")
		}
		out[i] = serviceRow{ID: s.ID, Name: s.Name, State: string(s.Status.State), Class: stateClass(s.Status.State), What: what,
			LastError: s.Status.LastError, Running: s.Status.RunningContainers, Replicas: s.Spec.Replicas}
	}
	return out
}

// serviceStates are the states the filter offers.
var serviceStates = []api.ServiceState{api.ServiceFailing, api.ServiceRunning, api.ServicePartlyRunning, api.ServiceStarting,
	api.ServiceScaling, api.ServiceRedeploying, api.ServiceStopping, api.ServiceStopped, api.ServiceNotRunning, api.ServiceTerminating}

func (h *Handler) services(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	d := servicesData{Q: strings.TrimSpace(q.Get("q")), StateFilter: q.Get("state")}
	for _, st := range serviceStates {
		d.States = append(d.States, string(st))
	}
	all, err := h.allServices(r.Context(), s.actor, "")
	if err != nil {
		return err
	}
	d.Total = len(all)
	d.Services = rowsOf(filterServices(all, d.Q, d.StateFilter))
	h.render(w, r, http.StatusOK, "services", s, "Services", d)
	return nil
}

// filterServices keeps the services whose name contains q (any case) and
// whose state is state ("" for any); failing ones come first, then by
// name.
func filterServices(all []api.Service, q, state string) []*api.Service {
	q = strings.ToLower(q)
	out := make([]*api.Service, 0, len(all))
	for i := range all {
		svc := &all[i]
		if (q == "" || strings.Contains(strings.ToLower(svc.Name), q)) && (state == "" || string(svc.Status.State) == state) {
			out = append(out, svc)
		}
	}
	slices.SortStableFunc(out, func(a, b *api.Service) int {
		fa, fb := failing(a), failing(b)
		switch {
		case fa && !fb:
			return -1
		case fb && !fa:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// containerRow is a container with its node's name and address.
type containerRow struct {
	api.Container
	NodeName, NodeAddress string
}

type serviceData struct {
	Service    *api.Service
	StackName  string
	Containers []containerRow
	Env        []kv
	// Rollout is the service's last rollout (domain.Rollout); nil if none.
	Rollout *domain.RolloutProgress
}

func (h *Handler) service(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, a := r.Context(), s.actor
	svc, err := h.d.GetService(ctx, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	cs, err := h.allContainers(ctx, a, svc.ID, "")
	if err != nil {
		return err
	}
	d := serviceData{Service: svc, Containers: h.withNodes(r, s, cs), Rollout: domain.Rollout(svc, cs, time.Now())}
	if svc.Stack != "" {
		if st, err := h.d.GetStack(ctx, a, svc.Stack); err == nil {
			d.StackName = st.Name
		}
	}
	h.render(w, r, http.StatusOK, "service", s, svc.Name, d)
	return nil
}

// withNodes names each container's node (when the actor may read nodes).
func (h *Handler) withNodes(r *http.Request, s *session, cs []api.Container) []containerRow {
	nodes := map[string]api.Node{}
	if ns, err := h.allNodes(r.Context(), s.actor); err == nil {
		for _, n := range ns {
			nodes[n.ID] = n
		}
	}
	out := make([]containerRow, len(cs))
	for i, c := range cs {
		n := nodes[c.Spec.Node]
		out[i] = containerRow{Container: c, NodeName: cmp.Or(n.Name, n.Hostname, c.Spec.Node), NodeAddress: n.Address}
	}
	slices.SortFunc(out, func(a, b containerRow) int { return cmp.Compare(a.Spec.Slot, b.Spec.Slot) })
	return out
}

func (h *Handler) confirmRemove(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.GetService(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "remove", s, "Remove "+svc.Name, svc)
	return nil
}

type nodesData struct {
	Nodes []api.Node
	Join  *api.JoinTokenCreated // just made, shown once
}

func (h *Handler) nodes(w http.ResponseWriter, r *http.Request, s *session) error {
	ns, err := h.allNodes(r.Context(), s.actor)
	if err != nil {
		return err
	}
	slices.SortFunc(ns, func(a, b api.Node) int {
		return cmp.Or(cmp.Compare(rank(string(a.State)), rank(string(b.State))), cmp.Compare(a.Name, b.Name))
	})
	h.render(w, r, http.StatusOK, "nodes", s, "Nodes", nodesData{Nodes: ns})
	return nil
}

type nodeData struct {
	Node       *api.Node
	Labels     []kv
	Containers []containerRow
	// Moves are the availabilities the node's buttons offer (the others
	// than its own); DrainWaiting is what its drain waits for, a line each.
	Moves        []availabilityMove
	DrainWaiting []string
}

func (h *Handler) node(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, a := r.Context(), s.actor
	n, err := h.d.GetNode(ctx, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := nodeData{Node: n, Labels: sortedKV(n.Labels), Moves: availabilityMoves(n)}
	if n.DrainWaiting != "" {
		d.DrainWaiting = strings.Split(n.DrainWaiting, "\n")
	}
	cs, err := h.allContainers(ctx, a, "", n.ID)
	if err != nil && !forbidden(err) {
		return err
	}
	d.Containers = h.withNodes(r, s, cs)
	h.render(w, r, http.StatusOK, "node", s, cmp.Or(n.Name, n.Hostname, n.ID), d)
	return nil
}

func (h *Handler) stacks(w http.ResponseWriter, r *http.Request, s *session) error {
	sts, err := h.allStacks(r.Context(), s.actor)
	if err != nil {
		return err
	}
	slices.SortFunc(sts, func(a, b api.Stack) int { return cmp.Compare(a.Name, b.Name) })
	h.render(w, r, http.StatusOK, "stacks", s, "Stacks", stacksData{Stacks: sts})
	return nil
}

type stackData struct {
	Stack    *api.Stack
	Services []serviceRow
	Form     stackForm // the update form, its name fixed
}

func (h *Handler) stack(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, a := r.Context(), s.actor
	st, err := h.d.GetStack(ctx, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	svcs, err := h.allServices(ctx, a, st.ID)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "stack", s, st.Name, stackData{Stack: st, Services: rowsOf(filterServices(svcs, "", "")),
		Form: stackForm{Name: st.Name, StackID: st.ID}})
	return nil
}
