package tunnel

import (
	"encoding/binary"
	"net"
	"sync"
)

// yamux frames start with a 12-byte header: version, type, flags, stream
// ID, length. A data frame's body (length bytes) follows it.
const (
	frameHeaderSize = 12
	frameTypeData   = 0
	// maxPooledFrame is the largest buffer kept for reuse.
	maxPooledFrame = 64 << 10
)

// FrameConn wraps the connection a yamux session runs over so that a data
// frame's header and body go out in one write. yamux's send loop writes
// them one after the other; over TLS each write is a record of its own
// (its own seal and system call), which doubled the records the gateway
// and 1,000 agents wrote while placing 10,000 containers. Held back, a
// header goes out with the next write: the byte stream is unchanged
// whatever yamux writes next. yamux writes from one goroutine; the lock
// only keeps a misuse from interleaving frames.
func FrameConn(c net.Conn) net.Conn { return &frameConn{Conn: c} }

type frameConn struct {
	net.Conn
	mu   sync.Mutex
	held [frameHeaderSize]byte
	hold bool
}

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hold {
		if len(p) == frameHeaderSize && p[1] == frameTypeData && binary.BigEndian.Uint32(p[8:12]) > 0 {
			copy(c.held[:], p)
			c.hold = true
			return len(p), nil
		}
		return c.Conn.Write(p)
	}
	c.hold = false
	bp := framePool.Get().(*[]byte)
	buf := append(append((*bp)[:0], c.held[:]...), p...)
	_, err := c.Conn.Write(buf)
	if cap(buf) <= maxPooledFrame {
		*bp = buf[:0]
		framePool.Put(bp)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
