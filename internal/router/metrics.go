package router

// Prometheus metrics, labelled by route ("web https://app.example.com/api",
// "db tcp:5432"). A router without a registry keeps none: every method of
// a nil *metrics or *routeMetrics does nothing.

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/promtext"
)

type metrics struct {
	requests      promtext.CounterVec
	duration      promtext.HistogramVec
	connectErrors promtext.CounterVec
	retries       promtext.CounterVec
	tcpActive     promtext.GaugeVec
	tcpTotal      promtext.CounterVec
	bytes         promtext.CounterVec
}

func newMetrics(reg *promtext.Registry) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		requests: promtext.NewCounterVec("wharf_router_http_requests_total",
			"HTTP requests by route and status class (1xx..5xx).", "route", "code"),
		duration: promtext.NewHistogramVec("wharf_router_http_request_duration_seconds",
			"Time from a request's arrival to the end of its response, by route.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "route"),
		connectErrors: promtext.NewCounterVec("wharf_router_backend_connect_errors_total",
			"Failed connection attempts to a route's backends.", "route"),
		retries: promtext.NewCounterVec("wharf_router_retries_total",
			"Requests and connections tried again on another backend after a connect failure.", "route"),
		tcpActive: promtext.NewGaugeVec("wharf_router_tcp_connections_active",
			"TCP connections being proxied, by route.", "route"),
		tcpTotal: promtext.NewCounterVec("wharf_router_tcp_connections_total",
			"TCP connections accepted, by route.", "route"),
		bytes: promtext.NewCounterVec("wharf_router_bytes_total",
			"Bytes proxied by route; direction in is from clients, out is to them.", "route", "direction"),
	}
	for _, f := range []promtext.Family{m.requests, m.duration, m.connectErrors, m.retries, m.tcpActive, m.tcpTotal, m.bytes} {
		if err := reg.Register(f); err != nil {
			return nil, fmt.Errorf("router: register metrics (is another router registered with the same registry?): %w", err)
		}
	}
	return m, nil
}

// routeMetrics are one route's series, bound once per table.
type routeMetrics struct {
	requests      [6]promtext.Counter // by status class; [0]: other
	duration      promtext.Histogram
	connectErrors promtext.Counter
	retries       promtext.Counter
	tcpActive     promtext.Gauge
	tcpTotal      promtext.Counter
	bytesIn       promtext.Counter
	bytesOut      promtext.Counter
}

func (m *metrics) route(label string, tcp bool) *routeMetrics {
	if m == nil {
		return nil
	}
	rm := &routeMetrics{
		connectErrors: m.connectErrors.With(label),
		retries:       m.retries.With(label),
		bytesIn:       m.bytes.With(label, "in"),
		bytesOut:      m.bytes.With(label, "out"),
	}
	if tcp {
		rm.tcpActive = m.tcpActive.With(label)
		rm.tcpTotal = m.tcpTotal.With(label)
		return rm
	}
	rm.duration = m.duration.With(label)
	for i, class := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		rm.requests[i] = m.requests.With(label, class)
	}
	return rm
}

func (rm *routeMetrics) request(status int, seconds float64, in, out int64) {
	if rm == nil {
		return
	}
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	rm.requests[class].Inc()
	rm.duration.Observe(seconds)
	rm.bytesIn.Add(float64(in))
	rm.bytesOut.Add(float64(out))
}

func (rm *routeMetrics) connectError() {
	if rm != nil {
		rm.connectErrors.Inc()
	}
}

func (rm *routeMetrics) retry() {
	if rm != nil {
		rm.retries.Inc()
	}
}

func (rm *routeMetrics) tcpOpen() {
	if rm != nil {
		rm.tcpTotal.Inc()
		rm.tcpActive.Inc()
	}
}

func (rm *routeMetrics) tcpClose(in, out int64) {
	if rm != nil {
		rm.tcpActive.Dec()
		rm.bytesIn.Add(float64(in))
		rm.bytesOut.Add(float64(out))
	}
}

// forget deletes a route's series.
func (m *metrics) forget(label string) {
	m.requests.DeleteMatching("route", label)
	m.duration.DeleteMatching("route", label)
	m.connectErrors.DeleteMatching("route", label)
	m.retries.DeleteMatching("route", label)
	m.tcpActive.DeleteMatching("route", label)
	m.tcpTotal.DeleteMatching("route", label)
	m.bytes.DeleteMatching("route", label)
}
