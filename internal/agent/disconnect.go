package agent

import (
	"time"
)

// setConnected tells the executor whether a session to the server is up.
// While it is down, containers with a StopAfterDisconnect are stopped once
// that many seconds have passed since the session was lost (or since the
// agent started without one), like Nomad's stop_after_client_disconnect:
// a stopped container stays stopped until the server, reachable again,
// sends assignments that still want it running.
func (e *executor) setConnected(up bool) {
	e.mu.Lock()
	switch {
	case up:
		e.cutSince = time.Time{}
		if e.cutTimer != nil {
			e.cutTimer.Stop()
		}
	case e.cutSince.IsZero():
		e.cutSince = time.Now()
	}
	e.mu.Unlock()
	e.signal()
}

// stopDisconnected stops the containers whose StopAfterDisconnect has
// passed while cut off, and arms a wake-up for the next one; e.mu is held.
func (e *executor) stopDisconnected(now time.Time) {
	if e.cutSince.IsZero() {
		return
	}
	var next time.Duration
	for _, k := range e.ctrs {
		secs := k.spec.Spec.StopAfterDisconnect
		if secs <= 0 || !k.running || k.busy || k.stopping {
			continue
		}
		left := e.cutSince.Add(time.Duration(secs) * time.Second).Sub(now)
		if left > 0 {
			if next == 0 || left < next {
				next = left
			}
			continue
		}
		e.a.log.Warn("cut off from the server longer than stop_after_disconnect; stopping the container",
			"container", k.spec.Name, "id", k.id, "seconds", secs)
		k.cutOff = true
		e.cancelRestart(k)
		e.stop(k, stopTimeout)
	}
	if next > 0 {
		if e.cutTimer != nil {
			e.cutTimer.Stop()
		}
		e.cutTimer = time.AfterFunc(next, e.signal)
	}
}
