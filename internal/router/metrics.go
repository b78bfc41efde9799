package router

// Prometheus metrics, labelled by route ("web https://app.example.com/api",
// "db tcp:5432"). A router without a Registerer keeps none: every method
// of a nil *metrics or *routeMetrics does nothing.

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	connectErrors *prometheus.CounterVec
	retries       *prometheus.CounterVec
	tcpActive     *prometheus.GaugeVec
	tcpTotal      *prometheus.CounterVec
	bytes         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_router_http_requests_total",
			Help: "HTTP requests by route and status class (1xx..5xx).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wharf_router_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		connectErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_router_backend_connect_errors_total",
			Help: "Failed connection attempts to a route's backends.",
		}, []string{"route"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_router_retries_total",
			Help: "Requests and connections tried again on another backend after a connect failure.",
		}, []string{"route"}),
		tcpActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wharf_router_tcp_connections_active",
			Help: "TCP connections being proxied, by route.",
		}, []string{"route"}),
		tcpTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_router_tcp_connections_total",
			Help: "TCP connections accepted, by route.",
		}, []string{"route"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_router_bytes_total",
			Help: "Bytes proxied by route; direction in is from clients, out is to them.",
		}, []string{"route", "direction"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.connectErrors, m.retries, m.tcpActive, m.tcpTotal, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("router: register metrics (is another router registered with the same Registerer?): %w", err)
		}
	}
	return m, nil
}

// routeMetrics are one route's series, bound once per table.
type routeMetrics struct {
	requests      [6]prometheus.Counter // by status class; [0]: other
	duration      prometheus.Observer
	connectErrors prometheus.Counter
	retries       prometheus.Counter
	tcpActive     prometheus.Gauge
	tcpTotal      prometheus.Counter
	bytesIn       prometheus.Counter
	bytesOut      prometheus.Counter
}

func (m *metrics) route(label string, tcp bool) *routeMetrics {
	if m == nil {
		return nil
	}
	rm := &routeMetrics{
		connectErrors: m.connectErrors.WithLabelValues(label),
		retries:       m.retries.WithLabelValues(label),
		bytesIn:       m.bytes.WithLabelValues(label, "in"),
		bytesOut:      m.bytes.WithLabelValues(label, "out"),
	}
	if tcp {
		rm.tcpActive = m.tcpActive.WithLabelValues(label)
		rm.tcpTotal = m.tcpTotal.WithLabelValues(label)
		return rm
	}
	rm.duration = m.duration.WithLabelValues(label)
	for i, class := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		rm.requests[i] = m.requests.WithLabelValues(label, class)
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
	l := prometheus.Labels{"route": label}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.connectErrors.DeletePartialMatch(l)
	m.retries.DeletePartialMatch(l)
	m.tcpActive.DeletePartialMatch(l)
	m.tcpTotal.DeletePartialMatch(l)
	m.bytes.DeletePartialMatch(l)
}
