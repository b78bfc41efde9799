// Package promtext keeps counters, gauges and histograms, each a family of
// series told apart by label values, and writes them in the Prometheus
// text exposition format (version 0.0.4) as client_golang's handler does:
// families sorted by name, a series' labels sorted by name, series sorted
// by their label values.
//
// It exists for the agent-only build: client_golang links protobuf, whose
// use of reflect.Value.MethodByName keeps the linker from dropping any
// exported method, and the larger binary costs every idle agent memory
// (docs/benchmarks.md). The server keeps client_golang.
package promtext

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds families and writes them. The zero value is not usable;
// make one with NewRegistry.
type Registry struct {
	mu   sync.Mutex
	fams map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{fams: map[string]*family{}}
}

// Family is what a Registry holds: a CounterVec, GaugeVec or HistogramVec.
type Family interface {
	fam() *family
}

// Register adds f; a family of the same name is an error.
func (r *Registry) Register(f Family) error {
	fm := f.fam()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.fams[fm.name]; ok {
		return fmt.Errorf("promtext: a family named %s is registered already", fm.name)
	}
	r.fams[fm.name] = fm
	return nil
}

// WriteTo writes every family with at least one series.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := make([]*family, 0, len(r.fams))
	for _, f := range r.fams {
		fams = append(fams, f)
	}
	r.mu.Unlock()
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	var buf bytes.Buffer
	for _, f := range fams {
		f.write(&buf)
	}
	return buf.WriteTo(w)
}

// ContentType is the text format's media type, as client_golang sends it.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// ServeHTTP answers with every family in the text format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	_, _ = r.WriteTo(w)
}

type kind int

const (
	counterKind kind = iota
	gaugeKind
	histogramKind
)

// family is one metric name: its series by label values.
type family struct {
	name, help string
	kind       kind
	labels     []string  // as given to the constructor
	order      []int     // indexes into labels, in label-name order
	bounds     []float64 // histograms' bucket upper bounds, ascending

	mu     sync.Mutex
	series map[string]*series // by key(values)
}

type series struct {
	values []string // in the order of family.labels
	val    atomic.Uint64
	// histograms only; mu keeps a scrape from seeing a count that does
	// not match the buckets
	mu      sync.Mutex
	buckets []uint64 // not cumulative; one per bound
	count   uint64
	sum     float64
}

func newFamily(k kind, name, help string, bounds []float64, labels []string) *family {
	f := &family{name: name, help: help, kind: k, labels: slices.Clone(labels), bounds: bounds, series: map[string]*series{}}
	f.order = make([]int, len(labels))
	for i := range f.order {
		f.order[i] = i
	}
	slices.SortFunc(f.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	return f
}

func (f *family) fam() *family { return f }

func key(values []string) string { return strings.Join(values, "\xff") }

// with returns the series of values, made on first use.
func (f *family) with(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("promtext: %s has %d labels, given %d values", f.name, len(f.labels), len(values)))
	}
	k := key(values)
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.series[k]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		if f.kind == histogramKind {
			s.buckets = make([]uint64, len(f.bounds))
		}
		f.series[k] = s
	}
	return s
}

// deleteMatching drops the series whose label name has value; it returns
// how many it dropped. A series handed out before keeps counting, unseen.
func (f *family) deleteMatching(name, value string) int {
	i := slices.Index(f.labels, name)
	if i < 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, s := range f.series {
		if s.values[i] == value {
			delete(f.series, k)
			n++
		}
	}
	return n
}

func (f *family) write(buf *bytes.Buffer) {
	f.mu.Lock()
	ss := make([]*series, 0, len(f.series))
	for _, s := range f.series {
		ss = append(ss, s)
	}
	f.mu.Unlock()
	if len(ss) == 0 {
		return
	}
	slices.SortFunc(ss, func(a, b *series) int {
		for _, i := range f.order {
			if c := strings.Compare(a.values[i], b.values[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	fmt.Fprintf(buf, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, [...]string{"counter", "gauge", "histogram"}[f.kind])
	for _, s := range ss {
		if f.kind != histogramKind {
			f.sample(buf, "", s, "", math.Float64frombits(s.val.Load()), 0, false)
			continue
		}
		s.mu.Lock()
		buckets, count, sum := slices.Clone(s.buckets), s.count, s.sum
		s.mu.Unlock()
		var cum uint64
		for i, b := range f.bounds {
			cum += buckets[i]
			f.sample(buf, "_bucket", s, formatFloat(b), 0, cum, true)
		}
		f.sample(buf, "_bucket", s, "+Inf", 0, count, true)
		f.sample(buf, "_sum", s, "", sum, 0, false)
		f.sample(buf, "_count", s, "", 0, count, true)
	}
}

// sample writes one line: name+suffix, the labels (then le, when set), and
// u when isUint, else v.
func (f *family) sample(buf *bytes.Buffer, suffix string, s *series, le string, v float64, u uint64, isUint bool) {
	buf.WriteString(f.name)
	buf.WriteString(suffix)
	if len(f.order) > 0 || le != "" {
		buf.WriteByte('{')
		for n, i := range f.order {
			if n > 0 {
				buf.WriteByte(',')
			}
			writeLabel(buf, f.labels[i], s.values[i])
		}
		if le != "" {
			if len(f.order) > 0 {
				buf.WriteByte(',')
			}
			writeLabel(buf, "le", le)
		}
		buf.WriteByte('}')
	}
	buf.WriteByte(' ')
	if isUint {
		buf.WriteString(strconv.FormatUint(u, 10))
	} else {
		buf.WriteString(formatFloat(v))
	}
	buf.WriteByte('\n')
}

func writeLabel(buf *bytes.Buffer, name, value string) {
	buf.WriteString(name)
	buf.WriteString(`="`)
	buf.WriteString(labelEscaper.Replace(value))
	buf.WriteByte('"')
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// addFloat adds d to the float64 whose bits v holds.
func addFloat(v *atomic.Uint64, d float64) {
	for {
		old := v.Load()
		if v.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// CounterVec is a counter family.
type CounterVec struct{ *family }

// NewCounterVec makes a counter family with the given label names.
func NewCounterVec(name, help string, labels ...string) CounterVec {
	return CounterVec{newFamily(counterKind, name, help, nil, labels)}
}

// With returns the counter of the label values, in the order of the
// family's label names.
func (v CounterVec) With(values ...string) Counter { return Counter{v.with(values)} }

// DeleteMatching drops the series whose label name has value.
func (v CounterVec) DeleteMatching(name, value string) int { return v.deleteMatching(name, value) }

// Counter only goes up.
type Counter struct{ s *series }

// Inc adds 1.
func (c Counter) Inc() { addFloat(&c.s.val, 1) }

// Add adds d, which must not be negative.
func (c Counter) Add(d float64) {
	if d < 0 {
		panic("promtext: a counter cannot go down")
	}
	addFloat(&c.s.val, d)
}

// Value is the counter's value.
func (c Counter) Value() float64 { return math.Float64frombits(c.s.val.Load()) }

// GaugeVec is a gauge family.
type GaugeVec struct{ *family }

// NewGaugeVec makes a gauge family with the given label names.
func NewGaugeVec(name, help string, labels ...string) GaugeVec {
	return GaugeVec{newFamily(gaugeKind, name, help, nil, labels)}
}

// With returns the gauge of the label values.
func (v GaugeVec) With(values ...string) Gauge { return Gauge{v.with(values)} }

// DeleteMatching drops the series whose label name has value.
func (v GaugeVec) DeleteMatching(name, value string) int { return v.deleteMatching(name, value) }

// Gauge goes up and down.
type Gauge struct{ s *series }

// Inc adds 1.
func (g Gauge) Inc() { addFloat(&g.s.val, 1) }

// Dec subtracts 1.
func (g Gauge) Dec() { addFloat(&g.s.val, -1) }

// Add adds d.
func (g Gauge) Add(d float64) { addFloat(&g.s.val, d) }

// Set sets the gauge to x.
func (g Gauge) Set(x float64) { g.s.val.Store(math.Float64bits(x)) }

// Value is the gauge's value.
func (g Gauge) Value() float64 { return math.Float64frombits(g.s.val.Load()) }

// HistogramVec is a histogram family.
type HistogramVec struct{ *family }

// NewHistogramVec makes a histogram family with the given bucket upper
// bounds (ascending; +Inf is implied) and label names.
func NewHistogramVec(name, help string, bounds []float64, labels ...string) HistogramVec {
	if !slices.IsSorted(bounds) {
		panic(fmt.Sprintf("promtext: %s: bucket bounds not ascending", name))
	}
	return HistogramVec{newFamily(histogramKind, name, help, slices.Clone(bounds), labels)}
}

// With returns the histogram of the label values.
func (v HistogramVec) With(values ...string) Histogram { return Histogram{v.family, v.with(values)} }

// DeleteMatching drops the series whose label name has value.
func (v HistogramVec) DeleteMatching(name, value string) int { return v.deleteMatching(name, value) }

// Histogram counts observations in buckets.
type Histogram struct {
	f *family
	s *series
}

// Observe counts x in the first bucket whose bound is at least x.
func (h Histogram) Observe(x float64) {
	i, _ := slices.BinarySearch(h.f.bounds, x)
	if math.IsNaN(x) {
		i = len(h.f.bounds) // +Inf only, as client_golang counts it
	}
	h.s.mu.Lock()
	if i < len(h.s.buckets) {
		h.s.buckets[i]++
	}
	h.s.count++
	h.s.sum += x
	h.s.mu.Unlock()
}

// Count is how many observations the histogram has.
func (h Histogram) Count() uint64 {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.count
}
