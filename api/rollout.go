package api

import (
	"fmt"
	"time"
)

// Health states a container reports when its service has a health check.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Healthcheck tells the agent how to decide whether a container is healthy.
// Exactly one of Command and HTTP is set. Durations are Go duration strings
// ("10s", "500ms"); empty means the default.
type Healthcheck struct {
	// Command runs inside the container through the driver (exit 0: healthy).
	Command []string `json:"command,omitempty"`
	// HTTP is a path: GET http://127.0.0.1:<host port><path> must answer 2xx or 3xx.
	HTTP string `json:"http,omitempty"`
	// Interval between checks (default 30s).
	Interval string `json:"interval,omitempty"`
	// Timeout of one check (default 30s).
	Timeout string `json:"timeout,omitempty"`
	// StartPeriod: failures in it do not count (default 0).
	StartPeriod string `json:"start_period,omitempty"`
	// Retries: consecutive failures that make it unhealthy (default 3).
	Retries int `json:"retries,omitempty"`
}

// Healthcheck defaults, Docker's.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthRetries  = 3
)

// Durations returns Interval, Timeout and StartPeriod with defaults applied.
func (h *Healthcheck) Durations() (interval, timeout, start time.Duration, err error) {
	if interval, err = durationOr(h.Interval, DefaultHealthInterval, "interval"); err != nil {
		return
	}
	if timeout, err = durationOr(h.Timeout, DefaultHealthTimeout, "timeout"); err != nil {
		return
	}
	start, err = durationOr(h.StartPeriod, 0, "start_period")
	return
}

// RetriesOrDefault is Retries, or 3 when unset.
func (h *Healthcheck) RetriesOrDefault() int {
	if h.Retries > 0 {
		return h.Retries
	}
	return DefaultHealthRetries
}

// Update orders and failure actions.
const (
	OrderStopFirst      = "stop-first"
	OrderStartFirst     = "start-first"
	FailurePause        = "pause"
	FailureRollback     = "rollback"
	UpdateStateUpdating = "updating"
	UpdateStatePaused   = "paused"
	UpdateStateRollback = "rolling_back"
	UpdateStateDone     = "completed"
	UpdateStateRolledBk = "rolled_back"
)

// UpdateConfig is how a service's containers are replaced when its spec
// changes or it is redeployed (SwarmKit's update_config). Durations are Go
// duration strings.
type UpdateConfig struct {
	// Parallelism: containers replaced at once (default 1).
	Parallelism int `json:"parallelism,omitempty"`
	// Delay between one batch being done and the next starting (default 0).
	Delay string `json:"delay,omitempty"`
	// Order: stop-first (default) or start-first (the old container runs
	// until its replacement is ready).
	Order string `json:"order,omitempty"`
	// Monitor: how long a new container must stay ready to count as done
	// (default 0).
	Monitor string `json:"monitor,omitempty"`
	// MaxFailureRatio: share of failed replacements tolerated (default 0).
	MaxFailureRatio float64 `json:"max_failure_ratio,omitempty"`
	// FailureAction when the ratio is exceeded: rollback (default) or pause.
	FailureAction string `json:"failure_action,omitempty"`
}

// Settings returns the configuration with defaults applied.
func (u UpdateConfig) Settings() (par int, delay, monitor time.Duration, err error) {
	par = max(u.Parallelism, 1)
	if delay, err = durationOr(u.Delay, 0, "delay"); err != nil {
		return
	}
	monitor, err = durationOr(u.Monitor, 0, "monitor")
	return
}

func durationOr(s string, def time.Duration, field string) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a Go duration such as \"10s\" or \"500ms\"", field, s)
	}
	return d, nil
}
