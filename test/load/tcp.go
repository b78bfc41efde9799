package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// tcpSender opens a connection to o.Addr per request, writes a payload
// naming the request, expects the same bytes back and closes: every
// request is balanced anew by a TCP router.
type tcpSender struct {
	addr   string
	dialer net.Dialer
}

func newTCPSender(o Options) *tcpSender {
	return &tcpSender{addr: o.Addr, dialer: net.Dialer{Timeout: o.Timeout}}
}

func (s *tcpSender) do(ctx context.Context, i int) outcome {
	conn, err := s.dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return outcome{kind: classify(err), err: err}
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// End the exchange when ctx ends (Run's context canceled) as well.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	payload := fmt.Appendf(nil, "wharf-load %12d\n", i)
	if _, err := conn.Write(payload); err != nil {
		return outcome{kind: classify(err), err: fmt.Errorf("writing to %s: %w", s.addr, err)}
	}
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(conn, got); err != nil {
		return outcome{kind: classify(err), err: fmt.Errorf("reading the echo from %s: %w", s.addr, err)}
	}
	if !bytes.Equal(got, payload) {
		return outcome{kind: Other, err: fmt.Errorf("%s echoed %q, not %q", s.addr, got, payload)}
	}
	return outcome{kind: OK}
}

func (s *tcpSender) close() {}
