package apiserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	req, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wharf_http_requests_total",
		Help: "API requests served, by method, route pattern and status code.",
	}, []string{"method", "route", "code"}))
	if err != nil {
		return nil, err
	}
	dur, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wharf_http_request_duration_seconds",
		Help:    "API request duration at the server in seconds, authentication included, until the handler returns (streams count until they end), by method, route pattern and status code.",
		Buckets: durationBuckets,
	}, []string{"method", "route", "code"}))
	if err != nil {
		return nil, err
	}
	return &metrics{requests: req, duration: dur, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// durationBuckets are the request duration histogram's upper bounds in
// seconds: fine from 1 ms to 200 ms, where the API's targets lie (a p99 read
// from the buckets is interpolated within one), coarse above.
var durationBuckets = []float64{
	0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.075,
	0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30,
}

// register registers c, or returns the collector already registered under
// its name (a second server on one registry shares the counters).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(method, route string, code int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "OTHER" // keep label values bounded
	}
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(method, route, c).Inc()
	m.duration.WithLabelValues(method, route, c).Observe(d.Seconds())
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}
