package gateway

import (
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// ackTimeout bounds the write of one heartbeat's ack: an agent that sends
// heartbeats and reads no acks fills the stream's window, and its stream
// ends rather than hold a goroutine for ever.
const ackTimeout = 10 * time.Second

// handleHeartbeats is the heartbeat stream (api.HeartbeatsPath): it
// answers 101, takes the stream off the HTTP server and hands it to a
// goroutine of its own, then returns, so that the server's connection
// (its 4 KB reader and 4 KB writer) is freed: an idle node costs the
// gateway that goroutine and the stream, nothing else. The stream is the
// session's own and only ever touches the session's node.
func (s *session) handleHeartbeats(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), api.HeartbeatsUpgrade) || r.ContentLength != 0 {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "the heartbeat stream wants Upgrade: "+api.HeartbeatsUpgrade+" and no body"))
		return
	}
	s.mu.Lock()
	if s.beating {
		s.mu.Unlock()
		errhttp.Write(w, errdefs.New(errdefs.ErrConflict, "this session has a heartbeat stream already; close it first"))
		return
	}
	s.beating = true
	s.mu.Unlock()
	started := false
	defer func() {
		if !started {
			s.endBeating()
		}
	}()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.log.Warn("heartbeat stream: hijack", "err", err)
		return
	}
	// The agent sends nothing before the 101: anything buffered broke
	// the protocol. Nothing was written yet, so the writer holds nothing.
	if brw.Reader.Buffered() != 0 {
		s.log.Warn("heartbeat stream: bytes before the 101; closing it")
		_ = conn.Close()
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.HeartbeatsUpgrade+"\r\n\r\n"); err != nil {
		_ = conn.Close()
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.pushers.Add(1)
	s.mu.Unlock()
	started = true
	go s.heartbeats(conn)
}

func (s *session) endBeating() {
	s.mu.Lock()
	s.beating = false
	s.mu.Unlock()
}

// heartbeats answers the heartbeats on conn until it or the session ends.
func (s *session) heartbeats(conn net.Conn) {
	defer s.pushers.Done()
	defer conn.Close()
	defer s.endBeating() // before the close: a new stream may follow it
	b := []byte{0}
	for {
		if _, err := io.ReadFull(conn, b); err != nil {
			return
		}
		if b[0] != api.HeartbeatByte {
			s.log.Warn("heartbeat stream: unknown byte; closing it", "byte", b[0])
			return
		}
		s.heard(s.ctx)
		if err := conn.SetWriteDeadline(time.Now().Add(ackTimeout)); err != nil {
			return
		}
		b[0] = api.HeartbeatAckByte
		if _, err := conn.Write(b); err != nil {
			return
		}
	}
}
