package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// watchHealth starts the health checker of k's current run when its spec
// has a health check and none runs yet; e.mu is held. The checker ends
// with the run.
func (e *executor) watchHealth(k *ctr) {
	hc := k.spec.Spec.Healthcheck
	if hc == nil || !k.running || k.healthRun == k.waitDone || k.drv == nil {
		return
	}
	run, drv, check := k.waitDone, k.drv, *hc
	k.healthRun = run
	if k.status.Health == "" {
		st := k.status
		st.Health = api.HealthStarting
		e.setStatus(k, st)
	}
	e.wg.Go(func() { e.checkHealth(k, drv, check, run) })
}

// checkHealth probes every interval until the run ends: a success makes
// the container healthy, Retries failures in a row after the start period
// make it unhealthy. Only changes are reported.
func (e *executor) checkHealth(k *ctr, drv runtime.Driver, hc api.Healthcheck, run chan struct{}) {
	interval, timeout, startPeriod, err := hc.Durations()
	if err != nil {
		interval, timeout, startPeriod = api.DefaultHealthInterval, api.DefaultHealthTimeout, 0
	}
	retries := hc.RetriesOrDefault()
	begin := time.Now()
	fails := 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-run:
			return
		case <-e.ctx.Done():
			return
		case <-tick.C:
		}
		e.mu.Lock()
		port, host := k.status.HostPort, k.probeHost
		e.mu.Unlock()
		ctx, cancel := context.WithTimeout(e.ctx, timeout)
		perr := probe(ctx, drv, k.id, hc, host, port)
		cancel()
		health := ""
		switch {
		case perr == nil:
			fails, health = 0, api.HealthHealthy
		case time.Since(begin) < startPeriod:
		default:
			fails++
			if fails >= retries {
				health = api.HealthUnhealthy
			}
		}
		e.mu.Lock()
		if k.waitDone != run || !k.running {
			e.mu.Unlock()
			return
		}
		if health != "" && health != k.status.Health {
			st := k.status
			st.Health = health
			e.setStatus(k, st)
			e.a.log.Info("container health changed", "container", k.spec.Name, "id", k.id, "health", health, "err", perr)
		}
		e.mu.Unlock()
	}
}

// probe runs one check: the command through the driver, or an HTTP GET of
// the path on the container's first host port.
func probe(ctx context.Context, drv runtime.Driver, id string, hc api.Healthcheck, host string, port int) error {
	if len(hc.Command) > 0 {
		ex, ok := drv.(runtime.Execer)
		if !ok {
			return fmt.Errorf("driver %s cannot run commands in containers; use an HTTP health check", drv.Name())
		}
		code, err := ex.Exec(ctx, id, hc.Command, io.Discard)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("health command exited %d", code)
		}
		return nil
	}
	if port == 0 {
		return errors.New("the container publishes no port to check")
	}
	if host == "" {
		host = "127.0.0.1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, strconv.Itoa(port))+hc.HTTP, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %d", hc.HTTP, resp.StatusCode)
	}
	return nil
}
