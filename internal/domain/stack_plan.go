package domain

// What a stack deploy does: checking a StackSpec, turning the compose
// file's short service names into the services Wharf runs, and the plan
// (create, update, unchanged, remove) against the services that exist.
// Nothing here touches the store.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// stackPlan is a deploy's plan and the service objects it writes.
type stackPlan struct {
	entries []api.PlanEntry
	// create, update and remove hold the services as they are to be
	// written (update and remove keep the revision they were read at).
	create, update, remove []*api.Service
	// events are the per-service events of the writes.
	events []api.Event
	// after is every service of the stack once the plan is applied.
	after []*api.Service
}

// changed reports whether the plan writes any service.
func (p *stackPlan) changed() bool {
	return len(p.create)+len(p.update)+len(p.remove) > 0
}

// normalizeStackSpec returns spec as the store gives it back (so equal
// specs compare equal however the request spelled empty lists and maps),
// with every Running false: a deploy never starts or stops a service.
func normalizeStackSpec(spec api.StackSpec) (api.StackSpec, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return spec, err
	}
	var out api.StackSpec
	if err := json.Unmarshal(b, &out); err != nil {
		return spec, err
	}
	for i := range out.Services {
		out.Services[i].Spec.Running = false
	}
	return out, nil
}

func stackServiceField(i int) string { return "spec.services[" + strconv.Itoa(i) + "]" }

// validateStack checks a stack's name and spec and returns each service's
// spec as Wharf runs it: links and depends_on name the full service names.
func validateStack(name string, spec api.StackSpec) ([]api.ServiceSpec, error) {
	if !serviceNameRE.MatchString(name) {
		return nil, errdefs.Invalid("name", "stack name %q must match %s", name, serviceNameRE)
	}
	switch n := len(spec.Services); {
	case n == 0:
		return nil, errdefs.Invalid("spec.services", "a stack needs at least one service")
	case n > api.MaxStackServices:
		return nil, errdefs.Invalid("spec.services", "a stack holds at most %d services, got %d: split it into several stacks", api.MaxStackServices, n)
	}
	index := make(map[string]int, len(spec.Services))
	for i, ss := range spec.Services {
		field := stackServiceField(i)
		if !serviceNameRE.MatchString(ss.Name) {
			return nil, errdefs.Invalid(field+".name", "service name %q must match %s", ss.Name, serviceNameRE)
		}
		if full := api.StackServiceName(name, ss.Name); !serviceNameRE.MatchString(full) {
			return nil, errdefs.Invalid(field+".name", "the service's name in Wharf, %q, is %d characters; stack and service names together must be at most 63: shorten one of them", full, len(full))
		}
		if j, dup := index[ss.Name]; dup {
			return nil, errdefs.Invalid(field+".name", "service %q is also %s: service names in a stack must be unique", ss.Name, stackServiceField(j))
		}
		index[ss.Name] = i
		svcSpec := ss.Spec
		if err := validateSpec(&svcSpec); err != nil {
			var fe *errdefs.FieldError
			if errors.As(err, &fe) {
				return nil, errdefs.Invalid(field+"."+fe.Field, "%s", fe.Message)
			}
			return nil, err
		}
		// the canonical spellings of its enumerations (normalizeEnums)
		spec.Services[i].Spec = svcSpec
	}
	out := make([]api.ServiceSpec, len(spec.Services))
	for i, ss := range spec.Services {
		field := stackServiceField(i) + ".spec"
		s := ss.Spec
		s.Links = nil
		for j, l := range ss.Spec.Links {
			target, alias, _ := strings.Cut(l, ":")
			if _, ok := index[target]; !ok {
				return nil, errdefs.Invalid(fmt.Sprintf("%s.links[%d]", field, j), "link %q names no service of the stack; links in a stack name its services (%s)", l, strings.Join(stackNames(spec), ", "))
			}
			if alias == "" {
				alias = target
			}
			s.Links = append(s.Links, api.StackServiceName(name, target)+":"+alias)
		}
		s.DependsOn = nil
		for j, d := range ss.Spec.DependsOn {
			k, ok := index[d.Service]
			df := fmt.Sprintf("%s.depends_on[%d]", field, j)
			if !ok {
				return nil, errdefs.Invalid(df+".service", "%q names no service of the stack; depends_on in a stack names its services (%s)", d.Service, strings.Join(stackNames(spec), ", "))
			}
			if d.Condition == api.ConditionHealthy && spec.Services[k].Spec.Healthcheck == nil {
				return nil, errdefs.Invalid(df+".condition", "%s needs a health check on service %q: add one to it, or use %s", api.ConditionHealthy, d.Service, api.ConditionStarted)
			}
			d.Service = api.StackServiceName(name, d.Service)
			s.DependsOn = append(s.DependsOn, d)
		}
		out[i] = s
	}
	if cycle := dependencyCycle(spec); cycle != nil {
		return nil, errdefs.Invalid(stackServiceField(index[cycle[0]])+".spec.depends_on", "dependency cycle %s: a service cannot wait for itself", strings.Join(cycle, " -> "))
	}
	return out, nil
}

func stackNames(spec api.StackSpec) []string {
	names := make([]string, len(spec.Services))
	for i, ss := range spec.Services {
		names[i] = ss.Name
	}
	return names
}

// dependencyCycle returns a depends_on cycle of spec's services as the
// names along it, first and last the same, or nil. Every name depended on
// must be a service of the stack.
func dependencyCycle(spec api.StackSpec) []string {
	deps := map[string][]string{}
	for _, ss := range spec.Services {
		for _, d := range ss.Spec.DependsOn {
			deps[ss.Name] = append(deps[ss.Name], d.Service)
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = onPath
		path = append(path, n)
		for _, m := range deps[n] {
			switch state[m] {
			case onPath:
				start := slices.Index(path, m)
				return append(slices.Clone(path[start:]), m)
			case unseen:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, ss := range spec.Services {
		if state[ss.Name] == unseen {
			if c := visit(ss.Name); c != nil {
				return c
			}
		}
	}
	return nil
}

// planStack computes what deploying spec as stack does. services holds the
// services of the store that matter: those whose Stack is stack.ID and
// those named as the stack's services would be (all services will do).
// spec must be normalized (normalizeStackSpec). New services get fresh IDs
// and Spec.Running true; the others keep Running as it is.
func planStack(stack *api.Stack, spec api.StackSpec, services []*api.Service) (*stackPlan, error) {
	specs, err := validateStack(stack.Name, spec)
	if err != nil {
		return nil, err
	}
	byName := map[string]*api.Service{}
	for _, svc := range services {
		if svc.Stack == stack.ID || byName[svc.Name] == nil {
			byName[svc.Name] = svc
		}
	}
	p := &stackPlan{}
	wanted := map[string]bool{}
	for i, ss := range spec.Services {
		full := api.StackServiceName(stack.Name, ss.Name)
		wanted[full] = true
		next := specs[i]
		cur := byName[full]
		switch {
		case cur == nil:
			svc := &api.Service{
				Meta:   api.Meta{ID: newID(), Name: full, Org: stack.Org},
				Spec:   next,
				Status: api.ServiceStatus{State: api.ServiceNotRunning},
				Stack:  stack.ID,
			}
			svc.Spec.Running = true
			p.create = append(p.create, svc)
			p.after = append(p.after, svc)
			p.entries = append(p.entries, api.PlanEntry{Service: ss.Name, Action: api.PlanCreate})
			p.events = append(p.events, api.Event{Kind: "service", Object: svc.ID, Name: svc.Name, Type: "created", State: string(svc.Status.State),
				Message: fmt.Sprintf("service %s created with %d replicas by stack %s", svc.Name, svc.Spec.Replicas, stack.Name)})
		case cur.Stack != stack.ID && cur.Terminating:
			return nil, newErr(errdefs.ErrConflict, "service %q (%s) is being removed; retry when it is gone", full, stackServiceField(i))
		case cur.Stack != stack.ID:
			return nil, newErr(errdefs.ErrConflict, "a service named %q already exists and is not part of stack %q (%s would make it): rename %q in the compose file, or remove that service with `wharf service rm %s`", full, stack.Name, stackServiceField(i), ss.Name, full)
		case cur.Terminating:
			return nil, newErr(errdefs.ErrConflict, "service %q of stack %q is being removed; retry when it is gone", full, stack.Name)
		default:
			next.Running = cur.Spec.Running
			if reflect.DeepEqual(next, cur.Spec) {
				p.after = append(p.after, cur)
				p.entries = append(p.entries, api.PlanEntry{Service: ss.Name, Action: api.PlanUnchanged})
				continue
			}
			svc := *cur
			entry := api.PlanEntry{Service: ss.Name, Action: api.PlanUpdate, Changes: specChanges(cur.Spec, next), Rollout: needsRollout(cur.Spec, next)}
			ev := setSpec(&svc, next, " by stack "+stack.Name)
			p.update = append(p.update, &svc)
			p.after = append(p.after, &svc)
			p.entries = append(p.entries, entry)
			p.events = append(p.events, ev)
		}
	}
	var gone []*api.Service
	for _, svc := range services {
		if svc.Stack == stack.ID && !wanted[svc.Name] && !svc.Terminating {
			gone = append(gone, svc)
		}
	}
	slices.SortFunc(gone, func(a, b *api.Service) int { return strings.Compare(a.Name, b.Name) })
	for _, cur := range gone {
		svc := *cur
		ev := terminate(&svc, " by stack "+stack.Name)
		p.remove = append(p.remove, &svc)
		p.events = append(p.events, ev)
		p.entries = append(p.entries, api.PlanEntry{Service: strings.TrimPrefix(svc.Name, stack.Name+"-"), Action: api.PlanRemove})
	}
	return p, nil
}
