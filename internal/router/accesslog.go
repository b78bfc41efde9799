package router

// The access log: one JSON line per HTTP request and per TCP connection.

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// accessLog writes whole lines under a lock so that lines never interleave.
type accessLog struct {
	mu sync.Mutex
	w  io.Writer
}

// httpEntry is one HTTP request.
type httpEntry struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // "http"
	Client     string    `json:"client"`
	Method     string    `json:"method"`
	Host       string    `json:"host"`
	Path       string    `json:"path"`
	Proto      string    `json:"proto"`
	Status     int       `json:"status"`
	Bytes      int64     `json:"bytes"`
	DurationMS float64   `json:"duration_ms"`
	Backend    string    `json:"backend,omitempty"`
	Route      string    `json:"route,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// tcpEntry is one TCP connection.
type tcpEntry struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // "tcp"
	Client     string    `json:"client"`
	Listen     int       `json:"listen"`
	BytesIn    int64     `json:"bytes_in"`
	BytesOut   int64     `json:"bytes_out"`
	DurationMS float64   `json:"duration_ms"`
	Backend    string    `json:"backend,omitempty"`
	Route      string    `json:"route,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// write logs one entry; a nil log writes nothing.
func (l *accessLog) write(entry any) {
	if l == nil {
		return
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	_, _ = l.w.Write(b)
	l.mu.Unlock()
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
