package promtext

import (
	"bytes"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The same families, changed the same way, are written byte for byte as
// client_golang's handler writes them (what dashboards read before the
// agent dropped it).
func TestSameTextAsClientGolang(t *testing.T) {
	bounds := []float64{.001, .0025, .5, 1, 2.5, 30}
	reg := NewRegistry()
	req := NewCounterVec("x_requests_total", "Requests by route\\and code.\nSecond line.", "route", "code")
	dur := NewHistogramVec("x_duration_seconds", "Durations.", bounds, "route")
	active := NewGaugeVec("x_active", "Active.", "route")
	bytesV := NewCounterVec("x_bytes_total", "Bytes.", "route", "direction")
	empty := NewCounterVec("x_empty_total", "Never used.", "route")
	for _, f := range []Family{req, dur, active, bytesV, empty} {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}

	preg := prometheus.NewRegistry()
	preq := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_requests_total", Help: "Requests by route\\and code.\nSecond line."}, []string{"route", "code"})
	pdur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_duration_seconds", Help: "Durations.", Buckets: bounds}, []string{"route"})
	pactive := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_active", Help: "Active."}, []string{"route"})
	pbytes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_bytes_total", Help: "Bytes."}, []string{"route", "direction"})
	pempty := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_empty_total", Help: "Never used."}, []string{"route"})
	preg.MustRegister(preq, pdur, pactive, pbytes, pempty)

	routes := []string{"web http://app.example.com/", `odd "quoted" \ route` + "\nline", "db tcp:5432", "api https://b.example.com/v1"}
	for i, r := range routes {
		for n := 0; n <= i; n++ {
			req.With(r, "2xx").Inc()
			preq.WithLabelValues(r, "2xx").Inc()
		}
		req.With(r, "5xx").Add(0)
		preq.WithLabelValues(r, "5xx").Add(0)
		for _, d := range []float64{0, .001, .002, 1, 2.5, 31, 1e-9, 0.3} {
			x := d * float64(i+1)
			dur.With(r).Observe(x)
			pdur.WithLabelValues(r).Observe(x)
		}
		g := active.With(r)
		pg := pactive.WithLabelValues(r)
		g.Inc()
		pg.Inc()
		g.Add(2.5)
		pg.Add(2.5)
		g.Dec()
		pg.Dec()
		bytesV.With(r, "in").Add(1234567 * float64(i))
		pbytes.WithLabelValues(r, "in").Add(1234567 * float64(i))
		bytesV.With(r, "out").Add(0.125)
		pbytes.WithLabelValues(r, "out").Add(0.125)
	}
	active.With("set").Set(-7.75)
	pactive.WithLabelValues("set").Set(-7.75)
	// Deleting a route drops its series from every family.
	gone := routes[2]
	for _, f := range []interface{ DeleteMatching(string, string) int }{req, dur, active, bytesV} {
		if f.DeleteMatching("route", gone) == 0 {
			t.Errorf("DeleteMatching(route, %q) dropped nothing", gone)
		}
	}
	for _, v := range []*prometheus.MetricVec{preq.MetricVec, pdur.MetricVec, pactive.MetricVec, pbytes.MetricVec} {
		v.DeletePartialMatch(prometheus.Labels{"route": gone})
	}

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(preg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := rec.Body.String()
	var got bytes.Buffer
	if _, err := reg.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("text differs from client_golang's\ngot:\n%s\nwant:\n%s", got.String(), want)
	}
	if strings.Contains(want, gone) || !strings.Contains(want, "x_duration_seconds_bucket") {
		t.Errorf("the reference output is not what the test means to compare:\n%s", want)
	}

	rec = httptest.NewRecorder()
	reg.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q, want %q", ct, ContentType)
	}
	if rec.Body.String() != want {
		t.Errorf("ServeHTTP's body differs from WriteTo's")
	}
}

func TestRegisterTwice(t *testing.T) {
	reg := NewRegistry()
	if err := reg.Register(NewCounterVec("a_total", "A.", "x")); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(NewGaugeVec("a_total", "Again.")); err == nil {
		t.Error("a second family of the same name was registered")
	}
}

func TestHistogramBuckets(t *testing.T) {
	h := NewHistogramVec("h", "H.", []float64{1, 2}).With()
	for _, x := range []float64{1, 1.5, 2, 3, math.NaN()} {
		h.Observe(x)
	}
	var b bytes.Buffer
	reg := NewRegistry()
	_ = reg.Register(h.f)
	if _, err := reg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`h_bucket{le="1"} 1`, `h_bucket{le="2"} 3`, `h_bucket{le="+Inf"} 5`, "h_sum NaN", "h_count 5"} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("no line %q in\n%s", line, b.String())
		}
	}
	if h.Count() != 5 {
		t.Errorf("Count() = %d, want 5", h.Count())
	}
}

// Series are made, changed and written from many goroutines at once (run
// with -race), and no increment is lost.
func TestConcurrent(t *testing.T) {
	reg := NewRegistry()
	c := NewCounterVec("c_total", "C.", "k")
	h := NewHistogramVec("h", "H.", []float64{1}, "k")
	_ = reg.Register(c)
	_ = reg.Register(h)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for n := range 1000 {
				c.With("a").Inc()
				h.With("a").Observe(float64(n % 2))
				if n%100 == 0 {
					_, _ = reg.WriteTo(io.Discard)
				}
			}
		})
	}
	wg.Wait()
	if v := c.With("a").Value(); v != 8000 {
		t.Errorf("counter = %v, want 8000", v)
	}
	if n := h.With("a").Count(); n != 8000 {
		t.Errorf("histogram count = %d, want 8000", n)
	}
}
