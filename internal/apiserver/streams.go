package apiserver

import (
	"context"
	"net/http"
	"sync"
)

// streams ends long-lived responses (event streams, followed logs) when the
// server shuts down, so that draining waits only for ordinary requests.
type streams struct {
	once sync.Once
	ctx  context.Context
	stop context.CancelFunc
}

func newStreams() *streams {
	ctx, cancel := context.WithCancel(context.Background())
	return &streams{ctx: ctx, stop: cancel}
}

// wrap gives every request a context that also ends when streams stop.
func (st *streams) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stopWatch := context.AfterFunc(st.ctx, func() {
			if isStream(r) {
				cancel()
			}
		})
		defer stopWatch()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func isStream(r *http.Request) bool {
	q := r.URL.Query()
	return q.Get("follow") != "" || q.Get("stream") != "" || r.Header.Get("Accept") == "text/event-stream"
}

// StopStreams ends every open event stream and followed log; call it when
// shutdown begins (http.Server.RegisterOnShutdown).
func (s *Server) StopStreams() { s.streams.once.Do(s.streams.stop) }
