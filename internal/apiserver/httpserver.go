package apiserver

import (
	"log"
	"net/http"
	"time"
)

// Timeouts bound how long the API's HTTP server waits on a client, so that
// a slow or silent client cannot hold a connection (and its goroutine and
// buffers) for ever.
type Timeouts struct {
	// ReadHeader bounds the request line and headers.
	ReadHeader time.Duration
	// Read bounds the whole request, headers and body. It only covers
	// reading: once the body is read, net/http clears the connection's read
	// deadline, so a long answer (events -f, logs -f) is not cut. No handler
	// hijacks its connection or streams a request body.
	Read time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request.
	Idle time.Duration
}

// DefaultTimeouts are the API server's timeouts. Headers are small: 10s is
// ample on any link. Bodies are at most 1 MiB (Config.MaxBodyBytes): 60s
// allows a client as slow as 17 KiB/s. An idle keep-alive connection is
// closed after 120s; clients reconnect transparently. There is no write
// timeout: it would cut the followed streams (events -f, logs -f), which
// end when the client goes away or the server stops.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Idle: 120 * time.Second}

// NewHTTPServer is the http.Server that serves h with timeouts t. errorLog
// may be nil.
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		IdleTimeout:       t.Idle,
		ErrorLog:          errorLog,
	}
}
