package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// errNoHeartbeatStream is a server without the heartbeat stream (404 or
// 405: of an earlier version): heartbeats go as requests of their own.
var errNoHeartbeatStream = errors.New("the server has no heartbeat stream")

// heartbeatTimeout is how long a heartbeat may wait for its answer.
func (s *agentSession) heartbeatTimeout() time.Duration {
	return max(2*s.a.cfg.HeartbeatInterval, 5*time.Second)
}

// openHeartbeats opens the heartbeat stream (api.HeartbeatsPath): a
// stream of the session on which each heartbeat is a byte and its ack a
// byte back, which costs the server less than a request each.
// It ends with the session (which closes when the agent's context ends).
func (s *agentSession) openHeartbeats() (net.Conn, error) {
	conn, err := s.mux.Open()
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close()
		}
	}()
	if err := conn.SetDeadline(time.Now().Add(s.heartbeatTimeout())); err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, serverHost+api.HeartbeatsPath, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", api.HeartbeatsUpgrade)
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 512)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, errNoHeartbeatStream
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err := errhttp.Read(resp)
		return nil, fmt.Errorf("%s answered %s: %w", api.HeartbeatsPath, resp.Status, err)
	case !strings.EqualFold(resp.Header.Get("Upgrade"), api.HeartbeatsUpgrade):
		return nil, fmt.Errorf("%s answered 101 with Upgrade %q", api.HeartbeatsPath, resp.Header.Get("Upgrade"))
	case br.Buffered() != 0:
		// The server sends nothing but acks, and none before a heartbeat.
		return nil, fmt.Errorf("%s: bytes after the 101", api.HeartbeatsPath)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	ok = true
	return conn, nil
}

// beat sends one heartbeat on the heartbeat stream and waits for its ack;
// only then does it count as acknowledged (fence.go).
func (s *agentSession) beat(conn net.Conn) error {
	sent := time.Now()
	if err := conn.SetDeadline(sent.Add(s.heartbeatTimeout())); err != nil {
		return err
	}
	b := []byte{api.HeartbeatByte}
	if _, err := conn.Write(b); err != nil {
		return err
	}
	if _, err := io.ReadFull(conn, b); err != nil {
		return err
	}
	if b[0] != api.HeartbeatAckByte {
		return fmt.Errorf("heartbeat stream: %q is not an ack", b[0])
	}
	s.a.acked(sent)
	return nil
}
