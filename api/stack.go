package api

// Dependency conditions of depends_on, Compose's.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// Dependency holds a service's new containers until another service is in
// a condition: every wanted container of it Running (service_started),
// also healthy (service_healthy, which needs a health check on it), or
// exited with code 0 (service_completed_successfully). It is honoured
// across nodes, whenever the controller starts a container of the
// dependant: at deploy, on a redeploy and when a slot is replaced.
type Dependency struct {
	// Service is the name of the service depended on (in a stack, the
	// stack's name for it; the server resolves it to the service it made).
	Service   string `json:"service"`
	Condition string `json:"condition"`
}

// MaxStackServices is the most services one stack may hold: a deploy is
// one store transaction.
const MaxStackServices = 200

// StackSpec is a whole application, as a compose file describes it.
type StackSpec struct {
	// Services, each named as in the compose file. The service Wharf runs
	// for one is named "<stack>-<name>"; links and depends_on within the
	// stack use the short names.
	Services []StackService `json:"services"`
	// Warnings are what the loader reported about the files (unsupported
	// keys with their lines), kept for `stack inspect`.
	Warnings []string `json:"warnings,omitempty"`
}

// StackService is one service of a stack.
type StackService struct {
	Name string      `json:"name"`
	Spec ServiceSpec `json:"spec"`
}

// StackStatus sums up a stack's services, computed when it is read.
type StackStatus struct {
	// State is Docker Cloud's: Not running, Starting, Running, Partly
	// running, Stopping, Stopped, Redeploying, Terminating; and Failing
	// when one of its services is.
	State ServiceState `json:"state"`
	// Services counts the services of the stack that exist; Running those
	// whose containers all run.
	Services int `json:"services"`
	Running  int `json:"running"`
}

// Stack is a deployed StackSpec. Its services carry Service.Stack.
type Stack struct {
	Meta
	Spec   StackSpec   `json:"spec"`
	Status StackStatus `json:"status"`
	// Terminating is set by `stack rm`: its services are being removed.
	Terminating bool `json:"terminating,omitempty"`
}

// StackServiceName is the name of the service Wharf runs for service of
// stack.
func StackServiceName(stack, service string) string { return stack + "-" + service }

// Plan actions.
const (
	PlanCreate    = "create"
	PlanUpdate    = "update"
	PlanRemove    = "remove"
	PlanUnchanged = "unchanged"
)

// PlanEntry is what a deploy does to one service.
type PlanEntry struct {
	Service string `json:"service"` // the short name, as in the compose file
	Action  string `json:"action"`  // create, update, remove or unchanged
	// Changes name the spec fields an update changes ("image", "env.MODE",
	// "replicas"), each with its old and new value.
	Changes []FieldChange `json:"changes,omitempty"`
	// Rollout: the update replaces the service's containers (per its
	// update config); false when only replicas or settings change.
	Rollout bool `json:"rollout,omitempty"`
}

// FieldChange is one changed field of a plan entry; Old and New are JSON.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// DeployStackRequest is the body of PUT /v1/stacks/{name}.
type DeployStackRequest struct {
	Spec StackSpec `json:"spec"`
	// DryRun computes the plan and writes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Compose, instead of Spec, is the text of one compose file that the
	// server loads reading nothing else: no environment, .env, env_file,
	// build context, include or other file of the server's (such keys
	// are refused; see docs/stacks.md). Its secrets must exist already.
	Compose string `json:"compose,omitempty"`
	// Variables are the values of ${NAME} in Compose (the only ones).
	Variables map[string]string `json:"variables,omitempty"`
}

// DeployStackResult answers a deploy: the plan, and the stack as it is
// after it (as it would be, for a dry run).
type DeployStackResult struct {
	Stack  Stack       `json:"stack"`
	Plan   []PlanEntry `json:"plan"`
	DryRun bool        `json:"dry_run,omitempty"`
	// Created is true when the deploy made the stack.
	Created bool `json:"created,omitempty"`
	// Networks are the networks the deploy creates (a dry run: would
	// create) because its services join them and the organization has
	// none of that name; each gets the first free /16 from 10.8.0.0/16.
	Networks []Network `json:"networks,omitempty"`
}
